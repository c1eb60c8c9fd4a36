// Campaigns side by side (`GET /campaigns/compare`): 2 to 10 campaigns picked from the
// campaigns list of the window (`GET /campaigns`), their ids in the URL (`campaignId`, once
// per campaign, in the order picked), a column per campaign and a row per number of the
// deep-dive's overview. The CSV is the same question put to `POST /query` by campaign.
import { ApiError, get } from "./api.js";
import { amount, count, ms, percent } from "./format.js";
import { stateQuery, windowParams } from "./state.js";
import { params, queryBody } from "./view.js";

const LIST = 100; // the picker offers the window's 100 largest campaigns (the API's most)
const ROWS = [["sent", "Sent", count], ["delivered", "Delivered", count],
  ["failed", "Failed", count], ["bounced", "Bounced", count], ["opened", "Opened", count],
  ["humanOpened", "Opened by a human", count], ["clicked", "Clicked", count],
  ["uniqueRecipients", "Recipients", count], ["uniqueOpeners", "Contacts who opened", count],
  ["uniqueClickers", "Contacts who clicked", count], ["deliveryRate", "Delivery rate", percent],
  ["openRate", "Open rate", percent], ["humanOpenRate", "Human open rate", percent],
  ["clickRate", "Click rate", percent], ["clickToOpenRate", "Click-to-open rate", percent],
  ["totalCost", "Cost (USD)", amount], ["avgDeliveryMs", "Mean delivery (ms)", ms]];
// The overview's numbers `POST /query` answers (all but the three distinct-contact counts).
const QUERY_METRICS = ["sent", "delivered", "failed", "bounced", "opened", "humanOpened",
  "clicked", "deliveryRate", "openRate", "humanOpenRate", "clickRate", "clickToOpenRate",
  "totalCost", "avgDeliveryMs"];

async function load(state) {
  const ids = state.campaignIds;
  const [list, compared] = await Promise.all([
    get("/campaigns", params(state, { limit: LIST })),
    ids.length >= 2
      ? get("/campaigns/compare", { ...windowParams(state), channel: state.channel || null, campaignId: ids })
        // A refused pick (more than 10) is shown with the picker, so it can be mended.
        .catch((e) => { if (e instanceof ApiError && e.status === 400) return { refused: e }; throw e; })
      : null,
  ]);
  return { timeRange: list.timeRange, list: list.topCampaigns, campaigns: compared?.campaigns ?? [],
    refused: compared?.refused ?? null };
}

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

// Asks main.js for a new state (the picked ids), like a control would.
const pick = (root, ids) => root.dispatchEvent(new CustomEvent("dashboard:state",
  { bubbles: true, detail: { campaignIds: ids } }));

function picker(root, data, state) {
  const known = new Map(data.list.map((c) => [c.campaignId, c.name]));
  for (const c of data.campaigns) if (!known.has(c.campaignId)) known.set(c.campaignId, c.name);
  for (const id of state.campaignIds) if (!known.has(id)) known.set(id, null);
  const boxes = [...known].map(([id, name], i) => {
    const box = el("input", { type: "checkbox", id: `compare-pick-${i}`, value: id,
      checked: state.campaignIds.includes(id) });
    return el("li", {}, box, el("label", { htmlFor: box.id, textContent: name ? `${name} (${id})` : id }));
  });
  const form = el("form", { className: "picker" },
    el("fieldset", {}, el("legend", { textContent: "Campaigns to compare (2 to 10)" }),
      boxes.length ? el("ul", {}, ...boxes)
        : el("p", { className: "muted", textContent: "No campaign had a message in this window." })),
    el("button", { type: "submit", textContent: "Compare" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // Kept in the order picked: those already compared first, then the new ones.
    const checked = [...form.querySelectorAll("input:checked")].map((box) => box.value);
    pick(root, [...state.campaignIds.filter((id) => checked.includes(id)),
      ...checked.filter((id) => !state.campaignIds.includes(id))]);
  });
  const hint = state.campaignIds.length < 2
    ? [el("p", { className: "hint", textContent: "Pick at least 2 campaigns, then Compare." })] : [];
  return [form, ...hint];
}

function sideBySide(data, state) {
  if (data.campaigns.length < 2) return [];
  const button = el("button", { type: "button", textContent: "Download CSV" });
  button.dataset.csv = "campaigns";
  button.setAttribute("aria-describedby", "view-compare-side");
  const head = el("tr", {}, el("th", { scope: "col", textContent: "Number", className: "text" }),
    ...data.campaigns.map((c) => el("th", { scope: "col" }, el("a", { className: "in-page",
      textContent: c.name ?? c.campaignId,
      href: stateQuery({ ...state, view: "campaign", campaignId: c.campaignId }) }),
    el("div", { className: "muted", textContent: c.campaignId }))));
  const body = el("tbody", {}, ...ROWS.map(([key, label, format]) => el("tr", {},
    el("th", { scope: "row", textContent: label }),
    ...data.campaigns.map((c) => {
      const cell = el("td", { textContent: format(c[key]) });
      Object.assign(cell.dataset, { campaign: c.campaignId, field: key, value: c[key] == null ? "" : String(c[key]) });
      return cell;
    }))));
  const table = el("table", {}, el("thead", {}, head), body);
  table.dataset.table = "campaigns";
  table.setAttribute("aria-labelledby", "view-compare-side");
  return [el("div", { className: "table-head" },
    el("h3", { className: "sub", id: "view-compare-side", textContent: "Side by side" }), button),
  el("p", { className: "muted note", textContent: "The CSV has a row per campaign with a " +
    "message in the window (one without is no row), without the three counts of distinct " +
    "contacts, which the query engine does not answer." }),
  el("div", { className: "table-wrap" }, table)];
}

export const COMPARE = {
  id: "compare",
  title: "Compare campaigns",
  back: { view: "campaigns", label: "← All campaigns" },
  note: "Each campaign's numbers over its own messages in the window, as in its deep-dive. " +
    "Campaigns are compared with each other: the Compare with control does not apply here.",
  load,
  empty: {
    when: (d) => d.list.length === 0 && d.campaigns.length === 0,
    title: "No campaign activity in this window",
    lines: ["Campaigns appear from messages published with data.sourceType \"campaign\" and " +
      "the campaign's id in data.sourceId. Choose a longer range, or start chanalytics run " +
      "--demo for named demo campaigns."],
  },
  extra(root, data, state) {
    root.replaceChildren(...picker(root, data, state), ...sideBySide(data, state));
    if (data.refused) {
      const box = root.closest("section").querySelector(".error");
      box.textContent = `The API answered ${data.refused.status} ${data.refused.code}: ${data.refused.message}`;
      box.hidden = false;
    }
  },
  tables: [],
  csv: {
    campaigns: (state) => queryBody(state, { dimensions: ["campaign"], metrics: QUERY_METRICS,
      filters: [["is", "campaign", state.campaignIds]], orderBy: [["sent", "desc"]] }),
  },
};
