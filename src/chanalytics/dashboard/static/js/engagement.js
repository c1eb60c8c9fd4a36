// How engaged the tenant's contacts are (`GET /engagement`): the count of known contacts per
// level, and the contacts ranked by score, a page at a time. The level filter and the page's
// cursor live in the URL (`level`, `cursor`), so "Next page" is a plain link. Scores are
// over the 90 UTC dates ending at `asOf`: the range and channel controls do not apply.
import { ApiError, get } from "./api.js";
import { count, instant, text } from "./format.js";
import { LEVELS } from "./state.js";
import { pageLinks } from "./view.js";

const PAGE = 25;
const col = (key, label, format) => ({ key, label, format });
let zone; // the zone of the latest load: a column's format sees only its value

async function load(state) {
  zone = state.timezone;
  const data = await get("/engagement", { level: state.level || null, cursor: state.cursor || null,
    limit: PAGE });
  return { ...data, summary: data.levels };
}

// The level filter (a select: main.js writes its `data-param` into the URL) and the pages.
function controls(root, data, state) {
  if (!root.firstChild) {
    const select = document.createElement("select");
    select.id = "engagement-level";
    select.dataset.param = "level";
    select.append(...[["", "All levels"], ...LEVELS.map((l) => [l, l[0].toUpperCase() + l.slice(1)])]
      .map(([value, label]) => Object.assign(document.createElement("option"), { value, textContent: label })));
    const label = Object.assign(document.createElement("label"), { htmlFor: select.id,
      textContent: "Contacts of level" });
    const pages = document.createElement("p");
    pages.className = "pages";
    const field = document.createElement("div");
    field.className = "field";
    field.append(label, select);
    root.append(field, pages);
    // A contact's breakdown, below the table; a contact's button in the table asks for it.
    const section = root.closest("section");
    const breakdown = document.createElement("div");
    breakdown.className = "breakdown";
    breakdown.setAttribute("aria-live", "polite");
    section.append(breakdown);
    section.addEventListener("click", (event) => {
      const button = event.target.closest('button[data-action="contact"]');
      if (button) showContact(breakdown, button.dataset.value).catch((e) => {
        breakdown.textContent = e instanceof ApiError
          ? `The API answered ${e.status} ${e.code}: ${e.message}` : `Could not reach the service: ${e.message}`;
      });
    });
  }
  root.closest("section").querySelector(".breakdown").replaceChildren();
  root.querySelector("select").value = state.level;
  pageLinks(root.querySelector(".pages"), state, data.nextCursor,
    "All matching contacts are on this page.");
}

const BREAKDOWN = [["delivered", "Delivered"], ["opened", "Opened"], ["clicked", "Clicked"],
  ["replied", "Replied"], ["converted", "Reached a goal"]];

// `GET /contacts/{contactId}/engagement`: the scored events of the 90 dates, at its own asOf.
async function showContact(root, contactId) {
  const c = await get(`/contacts/${encodeURIComponent(contactId)}/engagement`);
  const title = Object.assign(document.createElement("h3"), { className: "sub",
    textContent: `${c.contactId}: score ${count(c.score)}, ${c.level}` });
  const list = document.createElement("dl");
  list.className = "strip";
  for (const [key, name] of BREAKDOWN) {
    const item = document.createElement("div");
    item.dataset.key = key;
    const value = Object.assign(document.createElement("dd"), { textContent: count(c.breakdown[key]) });
    value.dataset.value = String(c.breakdown[key]);
    item.append(Object.assign(document.createElement("dt"), { textContent: name }), value);
    list.append(item);
  }
  const when = Object.assign(document.createElement("p"), { className: "muted",
    textContent: `Events of the last 90 UTC dates as of ${instant(c.asOf, zone)}; latest event ` +
      `${c.lastEngagementAt ? instant(c.lastEngagementAt, zone) : "none"}.` });
  root.replaceChildren(title, list, when);
}

export const ENGAGEMENT = {
  id: "engagement",
  title: "Engagement",
  note: "A contact's score adds its deliveries (1 point), opens (5), clicks (10), replies (15) " +
    "and reached goals (50) of the last 90 UTC dates, each weighted down by its age. Levels: " +
    "high from 100, medium 50–99, low 10–49, inactive 0–9. The range and channel controls " +
    "do not apply here.",
  windowText: (data, state) => `Scores as of ${instant(data.asOf, state.timezone)} (${state.timezone})`,
  load,
  empty: {
    when: (d) => Object.values(d.levels).every((n) => n === 0),
    title: "No known contact yet",
    lines: ["A contact is known once an event names it in data.contactId (a message, a " +
      "workflow run, a sequence enrollment). Publish such events, or start chanalytics run " +
      "--demo."],
  },
  tiles: [["high", "High", count], ["medium", "Medium", count], ["low", "Low", count],
    ["inactive", "Inactive", count]],
  extra: controls,
  tables: [{
    key: "contacts", title: "Contacts by score", rows: (d) => d.contacts,
    none: "No contact of this level.",
    csvNote: "Choose a contact for its breakdown. No CSV: the query engine has no engagement " +
      "score, so this ranking cannot be exported through it.",
    columns: [{ ...col("contactId", "Contact", text), action: "contact" }, col("score", "Score", count),
      col("level", "Level", text),
      col("lastEngagementAt", "Latest event", (v) => (v ? instant(v, zone) : "–"))],
  }],
};
