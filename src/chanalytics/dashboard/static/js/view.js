// One view of the dashboard from its description: the window it covers, an empty state
// saying what to do, number tiles (with their change when compared), a chart of the time
// series and tables, each table with a CSV of the query engine's export. The views'
// descriptions (what to ask, what to show) live in delivery.js, activity.js and traffic.js.
import { download, save } from "./api.js";
import { lineChart } from "./chart.js";
import { bucketLabel, text, windowText } from "./format.js";
import { stateQuery, windowParams } from "./state.js";
import { tile } from "./tiles.js";

const COLORS = ["var(--series-1)", "var(--series-2)", "var(--series-3)", "var(--series-4)"];

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

// The parameters of a view's GET: the window, the channel, and what else it asks.
export function params(state, extra = {}) {
  return { ...windowParams(state), channel: state.channel || null, ...extra };
}

// The body of a `POST /query` export for the view's window and channel.
export function queryBody(state, { metrics, dimensions, filters = [], orderBy }) {
  const channel = state.channel ? [["is", "channel", [state.channel]]] : [];
  return { metrics, dimensions, filters: [...channel, ...filters], orderBy, ...windowParams(state) };
}

export const compared = (state) => (state.compare === "off" ? null : state.compare);

// The section of a view, built once; `render` fills it for a state.
export function buildSection(view) {
  const id = `view-${view.id}`;
  const section = el("section", { id, className: "panel view", hidden: true });
  section.dataset.view = view.id;
  section.setAttribute("aria-labelledby", `${id}-title`);
  section.append(
    el("div", { className: "panel-head" },
      el("h2", { id: `${id}-title`, textContent: view.title }),
      el("p", { className: "freshness" })),
    el("p", { className: "window muted" }),
  );
  // A sub-view's way back: a link to its parent view (an in-page link, see main.js).
  if (view.back) section.append(el("p", { className: "back" }, el("a", { className: "in-page", textContent: view.back.label })));
  section.querySelector(".freshness").setAttribute("aria-live", "polite");
  if (view.note) section.append(el("p", { className: "muted note", textContent: view.note }));
  const error = el("p", { className: "error", hidden: true });
  error.setAttribute("role", "alert");
  const empty = el("div", { className: "empty", hidden: true },
    el("h3", { textContent: view.empty.title }),
    ...view.empty.lines.map((line) => el("p", { textContent: line })));
  if (view.empty.example) empty.append(el("pre", {}, el("code", { textContent: view.empty.example })));
  section.append(error, empty);
  // `extra` (a view's own block) follows the tiles, or leads them with `extraFirst`.
  if (view.extra && view.extraFirst) section.append(el("div", { className: "extra" }));
  if (view.tiles) section.append(el("ul", { className: "tiles" }));
  if (view.extra && !view.extraFirst) section.append(el("div", { className: "extra" }));
  for (const table of view.tables ?? []) section.append(...tableBlock(view, table));
  // The tables answer the view's question; the trend follows them.
  if (view.chart) {
    const title = el("h3", { className: "sub", id: `${id}-chart`, textContent: view.chart.title });
    const figure = el("figure", { className: "chart" });
    figure.setAttribute("aria-labelledby", title.id);
    section.append(title, figure);
  }
  return section;
}

function tableBlock(view, table) {
  const titleId = `view-${view.id}-${table.key}`;
  const head = el("div", { className: "table-head" },
    el("h3", { className: "sub", id: titleId, textContent: table.title }));
  if (table.csv) {
    const button = el("button", { type: "button", textContent: "Download CSV" });
    button.dataset.csv = table.key;
    button.setAttribute("aria-describedby", titleId);
    head.append(button);
  }
  const blocks = [head];
  if (table.csvNote) blocks.push(el("p", { className: "muted note", textContent: table.csvNote }));
  const node = el("table", {}, el("thead", {}, el("tr", {}, ...table.columns.map((c) => {
    const th = el("th", { textContent: c.label, className: c.format === text || c.text ? "text" : "" });
    th.scope = "col";
    return th;
  }))), el("tbody"));
  node.dataset.table = table.key;
  node.setAttribute("aria-labelledby", titleId);
  blocks.push(el("div", { className: "table-wrap" }, node));
  return blocks;
}

// Rows of a table: the first column heads its row; every cell keeps its raw value.
// A column with `href(row, state)` links its cells (an in-page link to another view); one
// with `action` makes them buttons carrying that action and the value, for the view to act on.
export function fillTable(node, columns, rows, emptyText, state) {
  const body = node.querySelector("tbody");
  body.replaceChildren(...rows.map((row, index) => el("tr", {}, ...columns.map((c, i) => {
    const value = c.value ? c.value(row, index) : row[c.key];
    const cell = el(i === 0 ? "th" : "td");
    if (c.href) cell.append(el("a", { className: "in-page", href: c.href(row, state), textContent: c.format(value) }));
    else if (c.action) {
      const button = el("button", { type: "button", className: "as-link", textContent: c.format(value) });
      button.dataset.action = c.action;
      button.dataset.value = value == null ? "" : String(value);
      cell.append(button);
    } else cell.textContent = c.format(value);
    if (c.format === text || c.text) cell.className = "text"; // words to the left, numbers right
    if (i === 0) cell.scope = "row";
    cell.dataset.field = c.key;
    cell.dataset.value = value == null ? "" : String(value);
    return cell;
  }))));
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { className: "none", colSpan: columns.length, textContent: emptyText })));
  }
}

// `current()` is false once a newer state was asked for: a slow answer of an older one
// must not overwrite the newer numbers.
export async function renderView(section, view, state, current = () => true) {
  const data = await view.load(state);
  if (!current()) return;
  section.querySelector(".window").textContent = view.windowText
    ? view.windowText(data, state) : data.timeRange ? windowText(data.timeRange, state.timezone) : "";
  section.querySelector(".empty").hidden = !view.empty.when(data);
  // An answer about nothing (a campaign no event names) shows its empty state alone.
  section.classList.toggle("missing", Boolean(data.notFound));
  if (view.back) section.querySelector(".back a").href = stateQuery({ ...state, view: view.back.view });
  if (view.tiles) {
    const summary = data.summary ?? {};
    section.querySelector(".tiles").replaceChildren(...view.tiles.map(([key, name, format]) =>
      tile(key, name, format, summary[key], data.change?.[key], data.change != null)));
  }
  if (view.extra) view.extra(section.querySelector(".extra"), data, state);
  if (view.chart) {
    const points = view.chart.points(data);
    lineChart(section.querySelector(".chart"), {
      labels: points.map((p) => bucketLabel(p.timestamp, state.granularity, state.timezone)),
      series: view.chart.series.map(([key, name], i) => ({
        name, values: points.map((p) => p[key] ?? 0), color: COLORS[i % COLORS.length],
      })),
      format: view.chart.format,
      summary: `${view.chart.title}, per ${state.granularity}, ${points.length} buckets`,
    });
  }
  for (const table of view.tables ?? []) {
    fillTable(section.querySelector(`table[data-table="${table.key}"]`), table.columns,
      table.rows(data), table.none ?? "Nothing in this window.", state);
  }
}

// A CSV of rows on the page (RFC 4180: fields with a comma, quote or line break quoted),
// for tables the query engine cannot export.
/** Fills `pages` with the links of a cursor-paged list: "First page" once past it, "Next
 * page" while the API answers a `nextCursor`; `allText` when one page holds everything. */
export function pageLinks(pages, state, nextCursor, allText) {
  const link = (textContent, cursor, rel) => {
    const a = Object.assign(document.createElement("a"), { className: "in-page", textContent,
      href: stateQuery({ ...state, cursor }) });
    a.dataset.page = rel;
    return a;
  };
  pages.replaceChildren();
  if (state.cursor) pages.append(link("First page", "", "first"));
  if (nextCursor) pages.append(link("Next page", nextCursor, "next"));
  if (!state.cursor && !nextCursor) pages.textContent = allText;
}

export function csvOf(columns, rows) {
  const field = (v) => (v == null ? "" : /[",\r\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const lines = [columns, ...rows.map((row) => columns.map((c) => row[c]))].map((line) => line.map(field).join(","));
  return new Blob([`${lines.join("\r\n")}\r\n`], { type: "text/csv" });
}

// The CSV of one of a view's tables, from the query engine's export, or (a view's
// `localCsv`) of the rows the page shows.
export async function downloadTable(view, key, state) {
  const local = view.localCsv?.[key];
  if (local) return save(local(), `${view.id}-${key}.csv`);
  const ask = view.csv?.[key] ?? view.tables.find((t) => t.key === key).csv;
  return download("/query", ask(state), `${view.id}-${key}.csv`);
}
