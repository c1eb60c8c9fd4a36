// Delivery quality and money (docs/delivery.md): channels and providers, deliverability,
// costs and the monthly budget (budget.js). Each table's CSV is the same question put to `POST /query`;
// where the query engine lacks one of the table's numbers, the table says which.
import { get } from "./api.js";
import { budgetBlock, loadCosts } from "./budget.js";
import { amount, count, ms, percent, score, text, unitCost } from "./format.js";
import { compared, params, queryBody } from "./view.js";

const PUBLISH = "chanalytics publish pipeline.message.delivered " +
  "'{\"tenantId\": \"tenant_demo\", \"data\": {\"messageId\": \"m1\", \"channel\": \"email\", " +
  "\"provider\": \"ses\", \"durationMs\": 1200}}'";
const LATENCY = ["p50DeliveryMs", "p95DeliveryMs", "p99DeliveryMs"];
const notCampaignless = ["isNot", "campaign", [null]];

const col = (key, label, format, value) => ({ key, label, format, value });
const latency = (key, label, field) => col(key, label, ms, (row) => row.latency?.[field]);
const costOf = (key, label, format, field) => col(key, label, format, (row) => row.cost?.[field]);

export const CHANNELS = {
  id: "channels",
  title: "Channels and providers",
  load: (state) => get("/channels", params(state, { granularity: state.granularity })),
  empty: {
    when: (d) => d.byChannel.length === 0,
    title: "No message events in this window",
    lines: ["Publish message events (with data.provider, data.cost on sent and " +
      "data.durationMs on delivered) or choose a longer range. For example:"],
    example: PUBLISH,
  },
  chart: {
    title: "Sent, delivered and failed over time",
    points: (d) => d.timeSeries,
    series: [["sent", "Sent"], ["delivered", "Delivered"], ["failed", "Failed"]],
    format: count,
  },
  tables: [
    {
      key: "byChannel", title: "Channels", rows: (d) => d.byChannel,
      columns: [col("channel", "Channel", text), col("sent", "Sent", count),
        col("delivered", "Delivered", count), col("failed", "Failed", count),
        col("bounced", "Bounced", count), col("deliveryRate", "Delivery rate", percent),
        col("failureRate", "Failure rate", percent), col("bounceRate", "Bounce rate", percent),
        latency("p50DeliveryMs", "Latency p50 (ms)", "p50Ms"),
        latency("p95DeliveryMs", "p95 (ms)", "p95Ms"), latency("p99DeliveryMs", "p99 (ms)", "p99Ms"),
        costOf("totalCost", "Cost (USD)", amount, "total"),
        costOf("avgCostPerMessage", "Per message", unitCost, "avgCostPerMessage")],
      csv: (state) => queryBody(state, {
        dimensions: ["channel"], orderBy: [["sent", "desc"]],
        metrics: ["sent", "delivered", "failed", "bounced", "deliveryRate", "failureRate",
          "bounceRate", ...LATENCY, "totalCost", "avgCostPerMessage"],
      }),
    },
    {
      key: "providers", title: "Providers, ranked by score", rows: (d) => d.providers,
      csvNote: "The CSV holds every number of this table but the score and the rank, which " +
        "the query engine does not answer.",
      columns: [col("rank", "Rank", count, (_, i) => i + 1), col("channel", "Channel", text),
        col("provider", "Provider", text), col("score", "Score", score),
        col("sent", "Sent", count), col("deliveryRate", "Delivery rate", percent),
        col("failureRate", "Failure rate", percent),
        latency("p50DeliveryMs", "Latency p50 (ms)", "p50Ms"),
        latency("p95DeliveryMs", "p95 (ms)", "p95Ms"), latency("p99DeliveryMs", "p99 (ms)", "p99Ms"),
        costOf("avgCostPerMessage", "Per message (USD)", unitCost, "avgCostPerMessage")],
      csv: (state) => queryBody(state, {
        dimensions: ["channel", "provider"], orderBy: [["deliveryRate", "desc"]],
        metrics: ["sent", "delivered", "failed", "bounced", "deliveryRate", "failureRate",
          ...LATENCY, "totalCost", "avgCostPerMessage"],
      }),
    },
    {
      key: "errors", title: "Errors by provider and code", rows: (d) => d.errors,
      none: "No failed or bounced message carried an errorCode in this window.",
      csvNote: "The table shows the 10 most frequent; the CSV holds every error code, " +
        "with failed and bounced counted apart (their sum is the count).",
      columns: [col("errorCode", "Error code", text), col("channel", "Channel", text),
        col("provider", "Provider", text), col("count", "Count", count)],
      csv: (state) => queryBody(state, {
        dimensions: ["channel", "provider", "errorCode"], metrics: ["failed", "bounced"],
        filters: [["isNot", "errorCode", [null]]], orderBy: [["failed", "desc"]],
      }),
    },
  ],
};

const RATES = [["deliveryRate", "Delivery rate"], ["bounceRate", "Bounce rate"],
  ["hardBounceRate", "Hard bounce rate"], ["complaintRate", "Complaint rate"],
  ["unsubscribeRate", "Unsubscribe rate"], ["failureRate", "Failure rate"]];
const COUNTS = [["sent", "Sent"], ["delivered", "Delivered"], ["bounced", "Bounced"],
  ["hardBounced", "Hard bounced"], ["softBounced", "Soft bounced"], ["complained", "Complaints"],
  ["unsubscribed", "Unsubscribes"], ["failed", "Failed"]];

export const DELIVERABILITY = {
  id: "deliverability",
  title: "Deliverability",
  load: (state) => get("/deliverability",
    params(state, { granularity: state.granularity, compare: compared(state) })),
  empty: {
    when: (d) => d.summary.sent === 0 && d.byChannel.length === 0,
    title: "No messages sent in this window",
    lines: ["Bounces, complaints and unsubscribes appear once message events arrive " +
      "(message_bounced with data.bounceType and data.errorCode). Choose a longer range, " +
      "or publish events as the overview shows."],
  },
  tiles: [...COUNTS.map(([k, n]) => [k, n, count]),
    ["suppressedContacts", "Suppressed contacts", count], ...RATES.map(([k, n]) => [k, n, percent])],
  chart: {
    title: "Bounces, complaints, unsubscribes and failures over time",
    points: (d) => d.timeSeries,
    series: [["bounced", "Bounced"], ["complained", "Complaints"],
      ["unsubscribed", "Unsubscribes"], ["failed", "Failed"]],
    format: count,
  },
  tables: [
    {
      key: "byChannel", title: "By channel", rows: (d) => d.byChannel,
      csvNote: "The CSV lacks the soft bounces and the hard bounce rate, which the query " +
        "engine does not answer (soft = bounced − hard bounced).",
      columns: [col("channel", "Channel", text), ...COUNTS.slice(0, 4).map(([k, n]) => col(k, n, count)),
        col("complained", "Complaints", count), col("unsubscribed", "Unsubscribes", count),
        col("failed", "Failed", count), ...RATES.map(([k, n]) => col(k, n, percent))],
      csv: (state) => queryBody(state, {
        dimensions: ["channel"], orderBy: [["sent", "desc"]],
        metrics: ["sent", "delivered", "bounced", "hardBounced", "complained", "unsubscribed",
          "failed", "deliveryRate", "bounceRate", "complaintRate", "unsubscribeRate", "failureRate"],
      }),
    },
    {
      key: "bounceReasons", title: "Bounce reasons", rows: (d) => d.bounceReasons,
      none: "No bounces in this window.",
      columns: [col("errorCode", "Error code", text), col("bounceType", "Type", text),
        col("count", "Bounces", count)],
      csv: (state) => queryBody(state, {
        dimensions: ["bounceType", "errorCode"], metrics: ["bounced"],
        orderBy: [["bounced", "desc"]],
      }),
    },
  ],
};

const costColumns = [col("totalCost", "Cost (USD)", amount), col("messages", "Messages sent", count),
  col("avgCostPerMessage", "Per message (USD)", unitCost)];
const costMetrics = ["totalCost", "sent", "avgCostPerMessage"];

export const COSTS = {
  id: "costs",
  title: "Costs and budget",
  load: loadCosts,
  empty: {
    when: (d) => d.summary.costedMessages === 0,
    title: "No sent message carried a cost in this window",
    lines: ["Costs come from data.cost (USD) of message_sent events. Add it where your " +
      "platform publishes sent messages, or choose a longer range."],
  },
  tiles: [["totalCost", "Total cost (USD)", amount], ["messages", "Messages sent", count],
    ["costedMessages", "With a cost", count], ["avgCostPerMessage", "Per message (USD)", unitCost]],
  extra: budgetBlock,
  chart: {
    title: "Cost over time (USD)", points: (d) => d.timeSeries,
    series: [["totalCost", "Cost"]], format: amount,
  },
  tables: [
    {
      key: "byChannel", title: "Cost by channel", rows: (d) => d.byChannel,
      columns: [col("channel", "Channel", text), ...costColumns],
      csv: (state) => queryBody(state, { dimensions: ["channel"], metrics: costMetrics,
        orderBy: [["totalCost", "desc"]] }),
    },
    {
      key: "byProvider", title: "Cost by provider", rows: (d) => d.byProvider,
      columns: [col("provider", "Provider", text), col("channel", "Channel", text), ...costColumns],
      csv: (state) => queryBody(state, { dimensions: ["channel", "provider"], metrics: costMetrics,
        orderBy: [["totalCost", "desc"]] }),
    },
    {
      key: "topCampaigns", title: "Cost by campaign", rows: (d) => d.topCampaigns,
      none: "No campaign message in this window.",
      csvNote: "The table shows the 10 costliest; the CSV holds every campaign.",
      columns: [col("name", "Campaign", text, (r) => r.name ?? r.campaignId),
        col("campaignId", "Id", text), ...costColumns],
      csv: (state) => queryBody(state, { dimensions: ["campaign"], metrics: costMetrics,
        filters: [notCampaignless], orderBy: [["totalCost", "desc"]] }),
    },
  ],
};
