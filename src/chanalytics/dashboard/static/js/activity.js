// What the platform's automations did (docs/api.md): campaigns, workflows, sequences and
// templates. Each table's CSV is the same question put to `POST /query`; where the query
// engine lacks one of the table's numbers, the table says which.
import { get } from "./api.js";
import { count, percent, text } from "./format.js";
import { stateQuery } from "./state.js";
import { compared, params, queryBody } from "./view.js";

const col = (key, label, format, value) => ({ key, label, format, value });
const named = (id, label) => col("name", label, text, (row) => row.name ?? row[id]);
const present = (dimension) => ["isNot", dimension, [null]];
const MESSAGE_METRICS = ["sent", "delivered", "opened", "clicked", "openRate", "clickRate"];
const messageColumns = [col("sent", "Sent", count), col("delivered", "Delivered", count),
  col("opened", "Opened", count), col("clicked", "Clicked", count),
  col("openRate", "Open rate", percent), col("clickRate", "Click rate", percent)];
const withSeries = (state, extra = {}) =>
  params(state, { granularity: state.granularity, compare: compared(state), ...extra });

export const CAMPAIGNS = {
  id: "campaigns",
  title: "Campaigns",
  // A campaign's name links to its deep-dive (campaign.js), the id in the URL.
  note: "Open a campaign's name for its deep-dive: links, devices, places and human opens.",
  load: (state) => get("/campaigns", withSeries(state)),
  // Campaigns side by side (compare.js), the two largest picked to start with.
  extra(root, data, state) {
    const link = Object.assign(document.createElement("a"), { className: "in-page",
      textContent: "Compare campaigns side by side",
      href: stateQuery({ ...state, view: "compare",
        campaignIds: data.topCampaigns.slice(0, 2).map((c) => c.campaignId) }) });
    link.id = "compare-campaigns";
    root.replaceChildren(Object.assign(document.createElement("p"), { className: "back" }));
    root.firstChild.append(link);
  },
  extraFirst: true,
  empty: {
    when: (d) => d.summary.totalCampaigns === 0,
    title: "No campaign activity in this window",
    lines: ["Campaigns appear from campaign.started events and from messages published with " +
      "data.sourceType \"campaign\" and the campaign's id in data.sourceId. Choose a longer " +
      "range, or start chanalytics run --demo for named demo campaigns."],
  },
  tiles: [["totalCampaigns", "Campaigns", count], ["completedCampaigns", "Completed", count],
    ["totalRecipients", "Recipients", count], ["avgOpenRate", "Average open rate", percent],
    ["avgClickRate", "Average click rate", percent]],
  chart: {
    title: "Campaign messages over time", points: (d) => d.timeSeries, format: count,
    series: [["sent", "Sent"], ["delivered", "Delivered"], ["opened", "Opened"], ["clicked", "Clicked"]],
  },
  tables: [{
    key: "topCampaigns", title: "Campaigns by messages sent", rows: (d) => d.topCampaigns,
    none: "No campaign message in this window.",
    csvNote: "The table shows the 10 largest; the CSV holds every campaign.",
    columns: [{ ...named("campaignId", "Campaign"), href: (row, state) =>
      stateQuery({ ...state, view: "campaign", campaignId: row.campaignId }) },
    col("campaignId", "Id", text), ...messageColumns],
    csv: (state) => queryBody(state, { dimensions: ["campaign"], metrics: MESSAGE_METRICS,
      filters: [present("campaign")], orderBy: [["sent", "desc"]] }),
  }],
};

export const WORKFLOWS = {
  id: "workflows",
  title: "Workflows",
  note: "Workflow runs are not messages: the channel filter does not apply here.",
  load: (state) => get("/workflows", withSeries(state)),
  empty: {
    when: (d) => d.summary.totalRuns === 0 && d.topWorkflows.length === 0,
    title: "No workflow runs in this window",
    lines: ["Runs appear from workflow.run.started, workflow.run.completed (data.status " +
      "completed or failed) and workflow.run.goal_reached events. Choose a longer range or " +
      "publish them."],
  },
  tiles: [["totalRuns", "Runs", count], ["completedRuns", "Completed", count],
    ["failedRuns", "Failed", count], ["goalReachedRuns", "Reached the goal", count],
    ["avgCompletionRate", "Completion rate", percent], ["avgConversionRate", "Conversion rate", percent]],
  chart: {
    title: "Runs over time", points: (d) => d.timeSeries, format: count,
    series: [["started", "Started"], ["completed", "Completed"], ["failed", "Failed"],
      ["goalReached", "Reached the goal"]],
  },
  tables: [{
    key: "topWorkflows", title: "Workflows by runs", rows: (d) => d.topWorkflows,
    csvNote: "The CSV lacks the completion and conversion rates, which the query engine " +
      "does not answer (completed ÷ runs, goal reached ÷ completed).",
    columns: [named("workflowId", "Workflow"), col("workflowId", "Id", text),
      col("runs", "Runs", count), col("completedRuns", "Completed", count),
      col("failedRuns", "Failed", count), col("goalReachedRuns", "Reached the goal", count),
      col("completionRate", "Completion rate", percent), col("conversionRate", "Conversion rate", percent)],
    csv: (state) => queryBody({ ...state, channel: "" }, {
      dimensions: ["workflow"], filters: [present("workflow")], orderBy: [["workflowRuns", "desc"]],
      metrics: ["workflowRuns", "workflowCompleted", "workflowFailed", "workflowGoals"] }),
  }],
};

export const SEQUENCES = {
  id: "sequences",
  title: "Sequences",
  note: "Sequence enrollments are not messages: the channel filter and granularity do not apply here.",
  load: (state) => get("/sequences", params({ ...state, channel: "" }, { compare: compared(state) })),
  empty: {
    when: (d) => d.summary.totalEnrollments === 0 && d.stepFunnel.length === 0,
    title: "No sequence enrollments in this window",
    lines: ["Sequences appear from sequence.enrollment.enrolled, sequence.step.executed " +
      "(data.stepNumber) and sequence.enrollment.replied events. Choose a longer range or " +
      "publish them."],
  },
  tiles: [["totalEnrollments", "Enrollments", count], ["activeEnrollments", "Active", count],
    ["completedEnrollments", "Completed", count], ["repliedEnrollments", "Replied", count],
    ["avgReplyRate", "Reply rate", percent]],
  extra: funnelBars,
  tables: [
    {
      key: "stepFunnel", title: "Step funnel", rows: (d) => d.stepFunnel,
      csvNote: "No CSV: the query engine has no step dimension, so this table cannot be " +
        "exported through it.",
      columns: [col("stepNumber", "Step", count), col("executed", "Executed", count),
        col("replied", "Replied at this step", count),
        col("ofFirst", "Of step 1's executions", percent, (row) => row.ofFirst)],
    },
    {
      key: "topSequences", title: "Sequences by enrollments", rows: (d) => d.topSequences,
      csvNote: "The CSV lacks the reply rate, which the query engine does not answer " +
        "(replied ÷ enrollments).",
      columns: [named("sequenceId", "Sequence"), col("sequenceId", "Id", text),
        col("enrollments", "Enrollments", count), col("replied", "Replied", count),
        col("replyRate", "Reply rate", percent)],
      csv: (state) => queryBody({ ...state, channel: "" }, {
        dimensions: ["sequence"], filters: [present("sequence")],
        metrics: ["enrollments", "repliedEnrollments"], orderBy: [["enrollments", "desc"]] }),
    },
  ],
};

// The funnel's bars (CSS widths; hidden from screen readers, the table says the same), and
// the share of step 1's executions each step keeps, which the table shows too (`extra` runs
// before the tables are filled).
function funnelBars(root, data) {
  const first = data.stepFunnel[0]?.executed ?? 0;
  for (const row of data.stepFunnel) {
    row.ofFirst = first ? Math.round((row.executed / first) * 10000) / 100 : 0;
  }
  const list = document.createElement("ol");
  list.className = "funnel";
  list.setAttribute("aria-hidden", "true");
  for (const row of data.stepFunnel) {
    const item = document.createElement("li");
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(row.ofFirst, 0.5)}%`;
    item.append(Object.assign(document.createElement("span"), {
      className: "label", textContent: `Step ${row.stepNumber}` }), bar);
    list.append(item);
  }
  root.replaceChildren(list);
}

export const TEMPLATES = {
  id: "templates",
  title: "Templates",
  note: "Worst performing: templates sent at least 100 times in the window, lowest open rate first.",
  load: (state) => get("/templates", params(state, { compare: compared(state) })),
  empty: {
    when: (d) => d.topTemplates.length === 0,
    title: "No template was used in this window",
    lines: ["Templates appear from message events that carry data.templateId (and " +
      "data.templateName for a readable name). Choose a longer range or publish them."],
  },
  tables: [
    {
      key: "topTemplates", title: "Most used templates", rows: (d) => d.topTemplates,
      csvNote: "The table shows the 10 most used; the CSV holds every template.",
      columns: [named("templateId", "Template"), col("templateId", "Id", text),
        col("usageCount", "Used (sent)", count), ...messageColumns.slice(1)],
      csv: (state) => queryBody(state, { dimensions: ["template"], metrics: MESSAGE_METRICS,
        filters: [present("template")], orderBy: [["sent", "desc"]] }),
    },
    {
      key: "worstPerforming", title: "Worst performing templates", rows: (d) => d.worstPerforming,
      none: "No template was sent 100 times or more in this window.",
      csvNote: "The CSV holds every template, lowest open rate first: the query engine cannot " +
        "leave out those used fewer than 100 times (see the Used column).",
      columns: [named("templateId", "Template"), col("templateId", "Id", text),
        col("usageCount", "Used (sent)", count), ...messageColumns.slice(1)],
      csv: (state) => queryBody(state, { dimensions: ["template"], metrics: MESSAGE_METRICS,
        filters: [present("template")], orderBy: [["openRate", "asc"], ["sent", "desc"]] }),
    },
  ],
};
