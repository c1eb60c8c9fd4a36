// The tenant's alerts (`GET /alerts`: each an episode of a rule's condition, an anomaly or
// a budget threshold, newest first, a page at a time) and its alert rules
// (`GET /alerts/rules`, read-only here: they are made through the API). No time window:
// both are the state as of now. The state and kind filters and the page's cursor live in
// the URL (`state`, `kind`, `cursor`), so "Next page" is a plain link. Neither is a
// question the query engine answers: the CSVs are made from the rows on screen.
import { get } from "./api.js";
import { amount, count, instant, text } from "./format.js";
import { ALERT_KINDS, ALERT_STATES } from "./state.js";
import { csvOf, pageLinks } from "./view.js";

const PAGE = 50;
const ALERT_FIELDS = ["id", "kind", "ruleId", "state", "startedAt", "resolvedAt", "metric",
  "channel", "provider", "value", "threshold", "message", "expected", "actual", "deviation"];
const RULE_FIELDS = ["id", "name", "metric", "operator", "threshold", "windowMinutes", "channel",
  "provider", "minVolume", "deliveries", "createdAt", "updatedAt"];
const NAMES = { firing: "Firing", resolved: "Resolved", rule: "Rule", anomaly: "Anomaly",
  budget: "Budget" };
const col = (key, label, format, extra = {}) => ({ key, label, format, ...extra });
const number = amount; // a metric's value in full, up to 4 decimals (a cost's, a rate's)
let zone; // the zone of the latest load: a column's format sees only its value
const shown = { items: [], rules: [] }; // the rows on screen, for the CSVs

async function load(state) {
  zone = state.timezone;
  const [alerts, rules] = await Promise.all([
    get("/alerts", { state: state.alertState || null, kind: state.kind || null,
      cursor: state.cursor || null, limit: PAGE }),
    get("/alerts/rules"),
  ]);
  return { ...alerts, rules: rules.items,
    summary: { firing: alerts.items.filter((a) => a.state === "firing").length, rules: rules.items.length },
    filtered: Boolean(state.alertState || state.kind || state.cursor) };
}

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

const select = (id, param, all, values) => {
  const node = el("select", { id }, ...[["", all], ...values.map((v) => [v, NAMES[v]])]
    .map(([value, label]) => el("option", { value, textContent: label })));
  node.dataset.param = param;
  return node;
};

// The filters (each writes its `data-param` into the URL, see main.js) and the pages.
function controls(root, data, state) {
  if (!root.firstChild) {
    const states = select("alerts-state", "alertState", "All states", ALERT_STATES);
    const kinds = select("alerts-kind", "kind", "All kinds", ALERT_KINDS);
    root.append(el("div", { className: "filters" },
      el("div", { className: "field" }, el("label", { htmlFor: states.id, textContent: "State" }), states),
      el("div", { className: "field" }, el("label", { htmlFor: kinds.id, textContent: "Kind" }), kinds)),
    el("p", { className: "pages" }));
  }
  root.querySelector("#alerts-state").value = state.alertState;
  root.querySelector("#alerts-kind").value = state.kind;
  pageLinks(root.querySelector(".pages"), state, data.nextCursor,
    "Every matching alert is on this page.");
}

const EXAMPLE = "curl -X POST -H 'Authorization: Bearer <token>' -H 'Content-Type: " +
  `application/json' ${location.origin}/api/v1/analytics/alerts/rules -d '{"name": "email ` +
  'delivery dropped", "metric": "deliveryRate", "channel": "email", "operator": "<", ' +
  '"threshold": 90, "windowMinutes": 60, "deliveries": []}\'';

export const ALERTS = {
  id: "alerts",
  title: "Alerts",
  note: "An alert fires when a rule's condition first holds, or when a channel's delivery " +
    "rate falls far below its recent hours (anomaly), or the month's spend reaches 75, 90 " +
    "or 100 % of the budget; it is resolved when that no longer holds. Rules are evaluated " +
    "every minute. This is the state as of now: the range, channel, granularity and " +
    "Compare with controls do not apply here.",
  windowText: (_, state) => `Now, every alert so far, newest first (times in ${state.timezone})`,
  load,
  empty: {
    when: (d) => d.items.length === 0 && !d.filtered,
    title: "No alert yet",
    lines: ["Nothing has fired. Create an alert rule with POST /api/v1/analytics/alerts/rules " +
      "(a metric of POST /query, a condition and a window in minutes; see docs/alerts.md); it " +
      "is judged from the next minute on. Anomaly and budget alerts need no rule. For example:"],
    example: EXAMPLE,
  },
  tiles: [["firing", "Firing (on this page)", count], ["rules", "Alert rules", count]],
  extra: controls,
  extraFirst: true,
  tables: [
    {
      key: "items", title: "Alerts, newest first", rows: (d) => (shown.items = d.items),
      none: "No alert matches these filters.", csv: true,
      csvNote: "The CSV holds the alerts of this page as the API answered them (times in " +
        "UTC): alerts are not a question of the query engine, so it cannot export them.",
      columns: [
        { ...col("startedAt", "Started", (v) => instant(v, zone)), text: true },
        { ...col("state", "State", (v) => NAMES[v] ?? text(v)), text: true },
        { ...col("kind", "Kind", (v) => NAMES[v] ?? text(v)), text: true },
        col("message", "What happened", text), col("metric", "Metric", text),
        col("channel", "Channel", text), col("value", "Value", number),
        col("threshold", "Threshold", number),
        { ...col("resolvedAt", "Resolved", (v) => (v ? instant(v, zone) : "–")), text: true },
      ],
    },
    {
      key: "rules", title: "Alert rules, oldest first", rows: (d) => (shown.rules = d.rules),
      none: "No alert rule: create one with POST /api/v1/analytics/alerts/rules.", csv: true,
      csvNote: "Rules are made and changed through the API (POST, PUT and DELETE " +
        "/alerts/rules); here they are only listed. The CSV holds them as the API answered " +
        "them (deliveries as JSON, times in UTC).",
      columns: [
        col("name", "Name", text), col("metric", "Metric", text),
        { ...col("condition", "Condition", text, { value: (r) => `${r.operator} ${r.threshold}` }), text: true },
        col("windowMinutes", "Window (min)", count), col("channel", "Channel", text),
        col("provider", "Provider", text), col("minVolume", "Minimum volume", count),
        col("deliveries", "Deliveries", count, { value: (r) => r.deliveries.length }),
        { ...col("createdAt", "Created", (v) => instant(v, zone)), text: true },
      ],
    },
  ],
  localCsv: {
    items: () => csvOf(ALERT_FIELDS, shown.items),
    rules: () => csvOf(RULE_FIELDS, shown.rules.map((r) => ({ ...r, deliveries: JSON.stringify(r.deliveries) }))),
  },
};
