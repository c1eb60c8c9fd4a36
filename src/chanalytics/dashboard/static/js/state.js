// The view's state lives in the page's URL query, under the API's own parameter names, so
// a view can be bookmarked and shared. Without state: the last 7 days in the browser's zone.
export const RANGES = ["1d", "7d", "30d", "90d"];
export const GRANULARITIES = ["hour", "day", "week", "month"];
export const COMPARES = ["previous_period", "previous_year", "off"];
// The views, in the order of the navigation; `overview` is the page's first.
export const VIEWS = ["overview", "channels", "deliverability", "suppressions", "costs",
  "campaigns", "workflows", "sequences", "templates", "traffic", "engagement", "funnel",
  "cohorts", "alerts"];
// Views below another one, not in the navigation: `campaign` (a campaign's deep-dive,
// with its id in `campaignId`) and `compare` (campaigns side by side, `campaignId` given
// once per campaign) belong to `campaigns`.
export const SUBVIEWS = { campaign: "campaigns", compare: "campaigns" };
export const LEVELS = ["high", "medium", "low", "inactive"];
export const REASONS = ["hard_bounce", "complaint", "unsubscribe"];
export const ALERT_STATES = ["firing", "resolved"];
export const ALERT_KINDS = ["rule", "anomaly", "budget"];
// Views that page with the API's `nextCursor`.
const PAGED = ["engagement", "suppressions", "alerts"];

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function readState(search = location.search) {
  const q = new URLSearchParams(search);
  const custom = q.get("startDate") && q.get("endDate");
  const pick = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);
  const campaignId = q.get("campaignId") || "";
  let view = pick(q.get("view"), [...VIEWS, ...Object.keys(SUBVIEWS)], "overview");
  if (view === "campaign" && !campaignId) view = "campaigns";
  return {
    view,
    campaignId: view === "campaign" ? campaignId : "",
    level: pick(q.get("level"), LEVELS, ""),
    campaignIds: view === "compare" ? q.getAll("campaignId").filter(Boolean) : [],
    reason: view === "suppressions" ? pick(q.get("reason"), REASONS, "") : "",
    contactId: view === "suppressions" ? q.get("contactId") || "" : "",
    // The funnel's `windowHours` as written (the API judges it: a bad one is its 400).
    windowHours: view === "funnel" ? (q.get("windowHours") || "").trim() : "",
    // The alerts' filters: the API's `state` and `kind` (`alertState` here, beside the
    // page's own state).
    alertState: view === "alerts" ? pick(q.get("state"), ALERT_STATES, "") : "",
    kind: view === "alerts" ? pick(q.get("kind"), ALERT_KINDS, "") : "",
    cursor: PAGED.includes(view) ? q.get("cursor") || "" : "",
    timeRange: custom ? "custom" : pick(q.get("timeRange"), RANGES, "7d"),
    startDate: custom ? q.get("startDate") : "",
    endDate: custom ? q.get("endDate") : "",
    timezone: q.get("timezone") || browserZone(),
    granularity: pick(q.get("granularity"), GRANULARITIES, "day"),
    channel: q.get("channel") || "",
    compare: pick(q.get("compare"), COMPARES, "previous_period"),
  };
}

export function stateQuery(state) {
  const q = new URLSearchParams();
  q.set("view", state.view);
  if (state.view === "campaign") q.set("campaignId", state.campaignId);
  if (state.view === "engagement" && state.level) q.set("level", state.level);
  if (state.view === "compare") for (const id of state.campaignIds ?? []) q.append("campaignId", id);
  if (state.view === "suppressions" && state.reason) q.set("reason", state.reason);
  if (state.view === "suppressions" && state.contactId) q.set("contactId", state.contactId);
  if (state.view === "funnel" && state.windowHours) q.set("windowHours", state.windowHours);
  if (state.view === "alerts" && state.alertState) q.set("state", state.alertState);
  if (state.view === "alerts" && state.kind) q.set("kind", state.kind);
  if (PAGED.includes(state.view) && state.cursor) q.set("cursor", state.cursor);
  if (state.timeRange === "custom") {
    q.set("startDate", state.startDate);
    q.set("endDate", state.endDate);
  } else {
    q.set("timeRange", state.timeRange);
  }
  q.set("timezone", state.timezone);
  q.set("granularity", state.granularity);
  if (state.channel) q.set("channel", state.channel);
  q.set("compare", state.compare);
  return `?${q}`;
}

export function writeState(state) {
  const next = stateQuery(state);
  if (next !== location.search) history.pushState(null, "", next);
}

// The window parameters every windowed endpoint takes (the `/query` body takes the same).
export function windowParams(state) {
  const window = state.timeRange === "custom"
    ? { startDate: state.startDate, endDate: state.endDate }
    : { timeRange: state.timeRange };
  return { ...window, timezone: state.timezone };
}
