// Who must not be messaged again (`GET /suppressions`): one row per suppressed contact and
// channel, newest first, a page at a time. No time window: the answer is the state as of
// now, so the range controls do not apply; the channel control does. The reason filter,
// the contact looked up and the page's cursor live in the URL (`reason`, `contactId`,
// `cursor`), so "Next page" is a plain link. The query engine has no suppression
// dimension: the CSV holds the rows on the page, made in the browser.
import { count, instant, text } from "./format.js";
import { get } from "./api.js";
import { REASONS } from "./state.js";
import { csvOf, pageLinks } from "./view.js";

const PAGE = 50;
const FIELDS = ["contactId", "channel", "reason", "since", "messageId"];
const REASON_NAMES = { hard_bounce: "Hard bounce", complaint: "Complaint", unsubscribe: "Unsubscribe" };
const col = (key, label, format) => ({ key, label, format });
let zone; // the zone of the latest load: a column's format sees only its value
let shown = []; // the rows on the page (set as the table is filled), for the CSV

async function load(state) {
  zone = state.timezone;
  const data = await get("/suppressions", { channel: state.channel || null,
    reason: state.reason || null, contactId: state.contactId || null,
    cursor: state.cursor || null, limit: PAGE });
  return { ...data, summary: { total: data.total },
    filtered: Boolean(state.channel || state.reason || state.contactId) };
}

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

// The filters (each writes its `data-param` into the URL, see main.js) and the pages.
function controls(root, data, state) {
  if (!root.firstChild) {
    const reason = el("select", { id: "suppressions-reason" },
      ...[["", "All reasons"], ...REASONS.map((r) => [r, REASON_NAMES[r]])]
        .map(([value, label]) => el("option", { value, textContent: label })));
    reason.dataset.param = "reason";
    const contact = el("input", { id: "suppressions-contact", type: "search",
      autocomplete: "off", spellcheck: false, placeholder: "e.g. contact_1458" });
    contact.dataset.param = "contactId";
    root.append(el("div", { className: "filters" },
      el("div", { className: "field" }, el("label", { htmlFor: reason.id, textContent: "Reason" }), reason),
      el("div", { className: "field" }, el("label", { htmlFor: contact.id,
        textContent: "Is this contact suppressed? (contact id, Enter)" }), contact)),
    el("p", { className: "pages" }));
  }
  root.querySelector("#suppressions-reason").value = state.reason;
  root.querySelector("#suppressions-contact").value = state.contactId;
  pageLinks(root.querySelector(".pages"), state, data.nextCursor,
    "Every matching item is on this page.");
}

export const SUPPRESSIONS = {
  id: "suppressions",
  title: "Suppressions",
  note: "A contact is suppressed on a channel from its first hard bounce, complaint or " +
    "unsubscribe there, for good. This is the state as of now: the range controls do not " +
    "apply; the channel control does.",
  windowText: (_, state) => `Now, every event stored so far (times in ${state.timezone})`,
  load,
  empty: {
    when: (d) => d.total === 0 && !d.filtered,
    title: "No suppressed contact",
    lines: ["A contact is suppressed once a message_bounced with data.bounceType \"hard\", a " +
      "message_complained or a message_unsubscribed event names it in data.contactId. For example:"],
    example: "chanalytics publish pipeline.message.unsubscribed '{\"tenantId\": \"tenant_demo\", " +
      "\"data\": {\"messageId\": \"m1\", \"channel\": \"email\", \"contactId\": \"c1\"}}'",
  },
  tiles: [["total", "Suppressed (contact, channel)", count]],
  extra: controls,
  extraFirst: true,
  tables: [{
    key: "items", title: "Suppressed contacts, newest first", rows: (d) => (shown = d.items),
    none: "No suppressed contact matches these filters.",
    csv: true,
    csvNote: "The CSV holds the rows of this page as the API answered them (since in UTC): " +
      "the query engine has no suppression dimension, so it cannot export them.",
    columns: [col("contactId", "Contact", text), col("channel", "Channel", text),
      { ...col("reason", "Reason", (v) => REASON_NAMES[v] ?? text(v)), text: true },
      { ...col("since", "Since", (v) => instant(v, zone)), text: true }, col("messageId", "Message", text)],
  }],
  localCsv: { items: () => csvOf(FIELDS, shown) },
};
