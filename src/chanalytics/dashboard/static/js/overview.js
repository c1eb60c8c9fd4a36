// The overview: tiles with their change against the compared window, messages over time,
// and the channels table with its CSV export through the query engine.
import { download, get } from "./api.js";
import { lineChart } from "./chart.js";
import { bucketLabel, count, percent, windowText } from "./format.js";
import { windowParams } from "./state.js";
import { tile } from "./tiles.js";

const TILES = [
  ["totalMessagesSent", "Messages sent", count],
  ["totalDelivered", "Delivered", count],
  ["totalOpened", "Opened", count],
  ["totalClicked", "Clicked", count],
  ["deliveryRate", "Delivery rate", percent],
  ["openRate", "Open rate", percent],
  ["clickRate", "Click rate", percent],
];
const CHANNEL_METRICS = ["sent", "delivered", "opened", "clicked", "deliveryRate", "openRate", "clickRate"];
const COLORS = ["var(--series-1)", "var(--series-2)", "var(--series-3)", "var(--series-4)"];

function params(state, extra = {}) {
  return { ...windowParams(state), channel: state.channel || null, ...extra };
}

export async function renderOverview(root, state, current = () => true) {
  const compare = state.compare === "off" ? null : state.compare;
  const [overview, messages] = await Promise.all([
    get("/overview", params(state, { compare })),
    get("/messages", params(state, { granularity: state.granularity })),
  ]);
  if (!current()) return; // a newer state was asked for meanwhile
  const range = overview.timeRange;
  root.querySelector("#overview-window").textContent = windowText(range, state.timezone);
  const tiles = root.querySelector("#tiles");
  tiles.replaceChildren(...TILES.map(([key, name, format]) =>
    tile(key, name, format, overview.summary[key], overview.change?.[key], compare != null)));
  root.querySelector("#overview-empty").hidden = overview.summary.totalMessagesSent > 0;

  const points = messages.timeSeries;
  lineChart(root.querySelector("#messages-chart"), {
    labels: points.map((p) => bucketLabel(p.timestamp, state.granularity, state.timezone)),
    series: ["sent", "delivered", "opened", "clicked"].map((name, i) => ({
      name: name[0].toUpperCase() + name.slice(1), values: points.map((p) => p[name]), color: COLORS[i],
    })),
    format: count,
    summary: `Messages per ${state.granularity}: ${count(messages.summary.sent)} sent, ` +
      `${count(messages.summary.delivered)} delivered in the window`,
  });

  const body = root.querySelector("#channels tbody");
  body.replaceChildren(...messages.byChannel.map((row) => {
    const line = document.createElement("tr");
    const cells = [row.channel, ...CHANNEL_METRICS.map((m) => (m.endsWith("Rate") ? percent : count)(row[m]))];
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) cell.scope = "row";
      cell.textContent = text;
      line.append(cell);
    });
    return line;
  }));
  if (!messages.byChannel.length) {
    const line = document.createElement("tr");
    const cell = Object.assign(document.createElement("td"), { colSpan: 8, textContent: "No messages in this window." });
    line.append(cell);
    body.append(line);
  }
}

// The same numbers as the table, from the query engine's CSV export.
export function downloadChannels(state) {
  const filters = state.channel ? [["is", "channel", [state.channel]]] : [];
  return download("/query", {
    metrics: CHANNEL_METRICS, dimensions: ["channel"], filters,
    orderBy: [["sent", "desc"]], ...windowParams(state),
  }, "channels.csv");
}
