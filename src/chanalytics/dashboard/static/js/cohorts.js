// Who comes back (`GET /cohorts`): contacts grouped by the local week of their first send,
// a row per cohort week and a column per week since, each cell the share of the cohort
// that opened or clicked that week, with how many. Weeks are those of the chosen zone;
// the range chooses the weeks (at most 26: a longer one is the API's 400, shown as such).
// The query engine has no first-send cohort, so the CSV is made from the answer on screen.
import { get } from "./api.js";
import { count, percent } from "./format.js";
import { windowParams } from "./state.js";
import { shade } from "./traffic.js";
import { csvOf } from "./view.js";

const FIELDS = ["week", "contacts", "weekOffset", "engagedContacts", "rate"];
let shown = []; // a row per (cohort, week since), as the CSV writes them

async function load(state) {
  const data = await get("/cohorts", windowParams(state));
  shown = data.cohorts.flatMap((c) => c.retention.map((r) => ({ week: c.week, contacts: c.contacts, ...r })));
  return { ...data, summary: { weeks: data.cohorts.length,
    contacts: data.cohorts.reduce((sum, c) => sum + c.contacts, 0) } };
}

const cell = (tag, textContent, props = {}) => Object.assign(document.createElement(tag), { textContent, ...props });

function table(root, data, state) {
  if (!root.querySelector(".retention")) {
    const head = cell("div", "", { className: "table-head" });
    const button = cell("button", "Download CSV", { type: "button" });
    button.dataset.csv = "retention";
    button.setAttribute("aria-describedby", "view-cohorts-retention");
    head.append(cell("h3", "Retention by week since the first send", { className: "sub",
      id: "view-cohorts-retention" }), button);
    root.append(head, cell("p", "The CSV holds this table as the API answered it, a row per " +
      "cohort and week since: the query engine has no first-send cohort, so it cannot export " +
      "it.", { className: "muted note" }), cell("div", "", { className: "retention" }));
  }
  const weeks = data.cohorts.length;
  const node = cell("table", "", { className: "heat cohorts" });
  node.dataset.table = "retention";
  node.setAttribute("aria-labelledby", "view-cohorts-retention");
  node.append(cell("caption", `Share of each cohort that opened or clicked, by local week ` +
    `(from Monday, ${state.timezone}) since its first send; the number engaged below it`));
  const head = document.createElement("tr");
  head.append(cell("th", "Cohort (week of the first send)", { scope: "col" }),
    cell("th", "Contacts", { scope: "col" }),
    ...[...Array(weeks).keys()].map((w) => cell("th", `Week ${w}`, { scope: "col" })));
  const body = document.createElement("tbody");
  for (const cohort of data.cohorts) {
    const row = document.createElement("tr");
    const contacts = cell("td", count(cohort.contacts), { className: "total" });
    Object.assign(contacts.dataset, { week: cohort.week, field: "contacts", value: String(cohort.contacts) });
    row.append(cell("th", cohort.week, { scope: "row" }), contacts);
    for (let offset = 0; offset < weeks; offset += 1) {
      const r = cohort.retention.find((one) => one.weekOffset === offset);
      if (!r) {
        row.append(cell("td", "", { className: "later" })); // past the last week shown
        continue;
      }
      const td = cell("td", percent(r.rate));
      td.append(cell("span", count(r.engagedContacts), { className: "engaged" }));
      Object.assign(td.dataset, { week: cohort.week, offset: String(offset), value: String(r.rate),
        engaged: String(r.engagedContacts) });
      const { background, dark } = shade(cohort.contacts ? r.rate / 100 : 0);
      td.style.background = background;
      if (!dark) td.classList.add("on-dark");
      row.append(td);
    }
    body.append(row);
  }
  node.createTHead().append(head);
  node.append(body);
  const wrap = cell("div", "", { className: "table-wrap" });
  wrap.append(node);
  root.querySelector(".retention").replaceChildren(wrap);
}

export const COHORTS = {
  id: "cohorts",
  title: "Cohorts",
  note: "A contact's cohort is the local week of its first message_sent ever; a cell is the " +
    "share of the cohort that opened or clicked in that week. The range chooses the weeks " +
    "(26 at most); the channel, granularity and Compare with controls do not apply here.",
  load,
  empty: {
    when: (d) => d.summary.contacts === 0,
    title: "No contact was first sent a message in these weeks",
    lines: ["A cohort fills once message_sent events name a contact in data.contactId; it " +
      "comes back when message_opened or message_clicked events name the same contact. " +
      "Choose a longer range (up to 26 weeks), or publish such events."],
  },
  tiles: [["weeks", "Cohort weeks", count], ["contacts", "Contacts first sent to", count]],
  extra: table,
  tables: [],
  localCsv: { retention: () => csvOf(FIELDS, shown) },
};
