// How far messages get after their send (`GET /funnel`: sent → delivered → opened →
// clicked, in total and per channel) and workflow runs after their start
// (`GET /funnel/workflows`: started → completed → goal), each step counted when it came
// within `windowHours` of the send (the view's own control, in the URL; the API's default
// 72 without it). The query engine cannot follow a message from its send, so the tables'
// CSVs are made in the browser from the answers on screen.
import { get } from "./api.js";
import { count, duration, percent, text } from "./format.js";
import { windowParams } from "./state.js";
import { csvOf, params } from "./view.js";

export const DEFAULT_WINDOW_HOURS = 72;
const STEPS = { sent: "Sent", delivered: "Delivered", opened: "Opened", clicked: "Clicked",
  started: "Started", completed: "Completed", goal: "Reached the goal" };
const FIELDS = ["step", "messages", "conversionRate", "overallRate", "medianSeconds"];
const col = (key, label, format, extra = {}) => ({ key, label, format, ...extra });
const stepColumns = (counted) => [
  { ...col("step", "Step", (v) => STEPS[v] ?? text(v)), text: true },
  col("messages", counted, count), col("conversionRate", "Of the step before", percent),
  col("overallRate", "Of the first step", percent),
  col("medianSeconds", "Median time to the step", duration)];
// The rows on screen (set as the tables are filled), for the CSVs.
const shown = { steps: [], byChannel: [], workflowSteps: [] };

async function load(state) {
  const hours = state.windowHours || null;
  const [messages, runs] = await Promise.all([
    get("/funnel", params(state, { windowHours: hours })),
    // Runs are not messages: no channel.
    get("/funnel/workflows", { ...windowParams(state), windowHours: hours }),
  ]);
  const step = Object.fromEntries(messages.steps.map((s) => [s.step, s]));
  return {
    ...messages,
    workflowSteps: runs.steps,
    byChannelRows: messages.byChannel.flatMap((c) => c.steps.map((s) => ({ channel: c.channel, ...s }))),
    summary: { sent: step.sent?.messages, delivered: step.delivered?.messages,
      opened: step.opened?.messages, clicked: step.clicked?.messages,
      clickedOfSent: step.clicked?.overallRate },
  };
}

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

// The window's control (a number: main.js writes its `data-param` into the URL) and the
// funnel's bars (hidden from screen readers: the table says the same).
function controls(root, data, state) {
  if (!root.firstChild) {
    const hours = el("input", { id: "funnel-window-hours", type: "number", min: 1, max: 720,
      step: 1, inputMode: "numeric" });
    hours.dataset.param = "windowHours";
    root.append(el("div", { className: "filters" }, el("div", { className: "field" },
      el("label", { htmlFor: hours.id, textContent: "Count a step within (hours after the send, 1–720)" }),
      hours)), el("ol", { className: "funnel steps" }));
  }
  root.querySelector("#funnel-window-hours").value = state.windowHours || String(DEFAULT_WINDOW_HOURS);
  const bars = root.querySelector(".funnel");
  bars.setAttribute("aria-hidden", "true");
  bars.replaceChildren(...data.steps.map((s) => {
    const bar = el("span", { className: "bar" });
    bar.style.width = `${Math.max(s.overallRate, 0.5)}%`;
    return el("li", {}, el("span", { className: "label", textContent: STEPS[s.step] ?? s.step }), bar);
  }));
}

const CSV_NOTE = "The CSV holds this table as the API answered it (rates in percent, times " +
  "in seconds): the query engine cannot follow a message from its send, so it cannot " +
  "export a funnel.";

export const FUNNEL = {
  id: "funnel",
  title: "Funnel",
  note: "The messages sent in the window, each followed from its send: a step counts a " +
    "message once it reached that step and every step before it within the hours below. " +
    "Workflow runs are followed from their start the same way; the channel control does " +
    "not apply to them. Compare with and granularity do not apply here.",
  load,
  empty: {
    when: (d) => d.steps[0].messages === 0 && d.workflowSteps[0].messages === 0,
    title: "No message sent and no workflow run started in this window",
    lines: ["The funnel follows message_sent events to their message_delivered, " +
      "message_opened and message_clicked events (by data.messageId), and " +
      "workflow.run.started events to workflow.run.completed and workflow.run.goal_reached " +
      "(by data.runId). Choose a longer range, or publish them."],
  },
  tiles: [["sent", "Sent", count], ["delivered", "Delivered", count], ["opened", "Opened", count],
    ["clicked", "Clicked", count], ["clickedOfSent", "Clicked of sent", percent]],
  extra: controls, // after the tiles
  tables: [
    {
      key: "steps", title: "Messages, from their send", rows: (d) => (shown.steps = d.steps),
      csv: true, csvNote: CSV_NOTE, columns: stepColumns("Messages"),
    },
    {
      key: "byChannel", title: "By channel of the send",
      rows: (d) => (shown.byChannel = d.byChannelRows),
      none: "No message sent in this window.", csv: true,
      columns: [col("channel", "Channel", text), ...stepColumns("Messages")],
    },
    {
      key: "workflowSteps", title: "Workflow runs, from their start",
      rows: (d) => (shown.workflowSteps = d.workflowSteps), csv: true,
      columns: stepColumns("Runs"),
    },
  ],
  localCsv: {
    steps: () => csvOf(FIELDS, shown.steps),
    byChannel: () => csvOf(["channel", ...FIELDS], shown.byChannel),
    workflowSteps: () => csvOf(FIELDS, shown.workflowSteps),
  },
};
