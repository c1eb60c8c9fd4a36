// When messages are sent: a heat map of local hour of day × day of week, drawn as a table
// whose cells hold their numbers (so it reads without colour and with a screen reader),
// shaded by count. `GET /traffic` answers the hours and the days apart, so the cells come
// from `POST /query` by `dayOfWeek` and `hourOfDay` (the same engine, the same `sent`),
// and the heat map's CSV is that query's export; the totals row and column are /traffic's.
import { get, post } from "./api.js";
import { count } from "./format.js";
import { compared, params, queryBody } from "./view.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const HOURS = [...Array(24).keys()];

export function heatQuery(state) {
  return queryBody(state, { dimensions: ["dayOfWeek", "hourOfDay"], metrics: ["sent"] });
}

async function load(state) {
  const [traffic, cells] = await Promise.all([
    get("/traffic", params(state, { granularity: state.granularity, compare: compared(state) })),
    post("/query", { ...heatQuery(state), limit: 1000 }),
  ]);
  const at = Object.fromEntries(cells.columns.map((c, i) => [c.name, i]));
  const grid = new Map(cells.rows.map((row) => [`${row[at.dayOfWeek]} ${row[at.hourOfDay]}`, row[at.sent]]));
  return { ...traffic, grid };
}

// Light shades carry dark text and dark shades white text, both at 4.5:1 or more: the
// lightness jumps over the middle band where neither would be legible enough.
export function shade(level) {
  if (level <= 0) return { background: "", dark: true };
  const lightness = level <= 0.6 ? 97 - (level / 0.6) * 35 : 38 - ((level - 0.6) / 0.4) * 13;
  return { background: `hsl(211 88% ${lightness.toFixed(1)}%)`, dark: level <= 0.6 };
}

const cell = (tag, textContent, props = {}) => Object.assign(document.createElement(tag), { textContent, ...props });

function heatMap(root, data, state) {
  const values = [...data.grid.values()];
  const top = Math.max(0, ...values);
  const table = document.createElement("table");
  table.className = "heat";
  table.dataset.table = "heatMap";
  table.setAttribute("aria-labelledby", "view-traffic-heat");
  table.append(cell("caption", `Messages sent by local hour (columns, ${state.timezone}) and day of week (rows)`));
  const head = document.createElement("tr");
  head.append(cell("th", "Day", { scope: "col" }),
    ...HOURS.map((h) => cell("th", String(h).padStart(2, "0"), { scope: "col", title: `${h}:00–${h}:59` })),
    cell("th", "All hours", { scope: "col" }));
  const body = document.createElement("tbody");
  const byDay = Object.fromEntries(data.byDayOfWeek.map((d) => [d.day, d.messageCount]));
  for (const day of DAYS) {
    const row = document.createElement("tr");
    row.append(cell("th", day, { scope: "row" }));
    for (const hour of HOURS) {
      const value = data.grid.get(`${day} ${hour}`) ?? 0;
      const td = cell("td", count(value));
      Object.assign(td.dataset, { day, hour: String(hour), value: String(value) });
      const { background, dark } = shade(top ? value / top : 0);
      td.style.background = background;
      if (!dark) td.classList.add("on-dark");
      row.append(td);
    }
    row.append(cell("td", count(byDay[day] ?? 0), { className: "total" }));
    body.append(row);
  }
  const totals = document.createElement("tr");
  totals.append(cell("th", "All days", { scope: "row" }),
    ...data.peakHours.map((p) => {
      const td = cell("td", count(p.messageCount), { className: "total" });
      td.dataset.hour = String(p.hour);
      return td;
    }),
    cell("td", count(data.peakHours.reduce((sum, p) => sum + p.messageCount, 0)), { className: "total" }));
  body.append(totals);
  table.createTHead().append(head);
  table.append(body);
  const wrap = cell("div", "", { className: "table-wrap" });
  wrap.append(table);
  root.querySelector(".heat-map").replaceChildren(wrap);
}

export const TRAFFIC = {
  id: "traffic",
  title: "Traffic",
  note: "Hours and days are those of the chosen timezone.",
  load,
  empty: {
    when: (d) => d.peakHours.every((p) => p.messageCount === 0),
    title: "No messages sent in this window",
    lines: ["The heat map fills as message_sent events arrive. Choose a longer range, or " +
      "publish events as the overview shows."],
  },
  extra(root, data, state) {
    if (!root.querySelector(".heat-map")) {
      const head = cell("div", "", { className: "table-head" });
      const button = cell("button", "Download CSV", { type: "button" });
      button.dataset.csv = "heatMap";
      button.setAttribute("aria-describedby", "view-traffic-heat");
      head.append(cell("h3", "Hour of day × day of week", { className: "sub", id: "view-traffic-heat" }), button);
      root.append(head, cell("div", "", { className: "heat-map" }));
    }
    heatMap(root, data, state);
  },
  chart: {
    title: "Messages sent over time", points: (d) => d.timeSeries,
    series: [["messageCount", "Sent"]], format: count,
  },
  // The heat map is not one of the generic tables; its CSV is the cells' query.
  tables: [],
  csv: { heatMap: heatQuery },
};
