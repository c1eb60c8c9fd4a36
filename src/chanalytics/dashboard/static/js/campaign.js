// One campaign in depth (`GET /campaigns/{campaignId}`), opened from a row of the campaigns
// list: who the campaign is, its overview tiles (human opens beside all opens), its series,
// and its channels, links, devices and places. The id lives in the URL (`campaignId`), so a
// deep-dive can be bookmarked; a campaign no event names shows "No such campaign".
import { ApiError, get } from "./api.js";
import { amount, count, instant, ms, percent, text } from "./format.js";
import { compared, params, queryBody } from "./view.js";

const col = (key, label, format) => ({ key, label, format });
const NOTHING = { campaign: null, overview: {}, byChannel: [], timeSeries: [], topLinks: [],
  devices: [], geo: [] };

async function load(state) {
  try {
    const data = await get(`/campaigns/${encodeURIComponent(state.campaignId)}`,
      params(state, { granularity: state.granularity, compare: compared(state), limit: 10 }));
    return { ...data, summary: data.overview };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { ...NOTHING, notFound: true };
    throw error;
  }
}

// The CSVs ask `POST /query` about this campaign's events alone.
const ofCampaign = (state, ask) =>
  queryBody(state, { ...ask, filters: [["is", "campaign", [state.campaignId]], ...(ask.filters ?? [])] });

function who(root, data, state) {
  const c = data.campaign;
  if (!c) {
    root.replaceChildren();
    return;
  }
  const list = document.createElement("dl");
  list.className = "facts";
  const fact = (key, name, value) => {
    const item = document.createElement("div");
    item.dataset.key = key;
    item.append(Object.assign(document.createElement("dt"), { textContent: name }),
      Object.assign(document.createElement("dd"), { textContent: value }));
    list.append(item);
  };
  fact("name", "Name", c.name ?? "no name given");
  fact("campaignId", "Id", c.campaignId);
  fact("startedAt", "Started", c.startedAt ? instant(c.startedAt, state.timezone) : "no campaign.started event");
  fact("completedAt", "Completed", c.completedAt ? instant(c.completedAt, state.timezone) : "not completed");
  root.replaceChildren(list);
}

export const CAMPAIGN = {
  id: "campaign",
  title: "Campaign",
  back: { view: "campaigns", label: "← All campaigns" },
  note: "Human opens leave out the opens a mail privacy proxy made by itself (machineOpen: " +
    "true); a message a proxy opened and a person opened later counts as opened by a human.",
  load,
  empty: {
    when: (d) => Boolean(d.notFound),
    title: "No such campaign",
    lines: ["No event of this tenant has ever named this campaign id: no message with it as " +
      "data.sourceId, no campaign.started or campaign.completed. Check the id, or go back to " +
      "the list of campaigns."],
  },
  extra: who,
  extraFirst: true,
  tiles: [["sent", "Sent", count], ["delivered", "Delivered", count],
    ["opened", "Opened", count], ["humanOpened", "Opened by a human", count],
    ["clicked", "Clicked", count], ["deliveryRate", "Delivery rate", percent],
    ["openRate", "Open rate", percent], ["humanOpenRate", "Human open rate", percent],
    ["clickRate", "Click rate", percent], ["clickToOpenRate", "Click-to-open rate", percent],
    ["uniqueRecipients", "Recipients", count], ["failed", "Failed", count],
    ["bounced", "Bounced", count], ["totalCost", "Cost (USD)", amount],
    ["avgDeliveryMs", "Mean delivery (ms)", ms]],
  chart: {
    title: "The campaign's messages over time", points: (d) => d.timeSeries, format: count,
    series: [["sent", "Sent"], ["delivered", "Delivered"], ["opened", "Opened"], ["clicked", "Clicked"]],
  },
  tables: [
    {
      key: "byChannel", title: "By channel", rows: (d) => d.byChannel,
      none: "No message of this campaign in this window.",
      columns: [col("channel", "Channel", text), col("sent", "Sent", count),
        col("delivered", "Delivered", count), col("failed", "Failed", count),
        col("totalCost", "Cost (USD)", amount)],
      csv: (state) => ofCampaign(state, { dimensions: ["channel"],
        metrics: ["sent", "delivered", "failed", "totalCost"], orderBy: [["sent", "desc"]] }),
    },
    {
      key: "topLinks", title: "Links clicked", rows: (d) => d.topLinks,
      none: "No click with a url in this window.",
      csvNote: "The CSV holds every link, by messages clicked; it lacks the click events " +
        "(the query engine counts distinct messages, not clicks).",
      columns: [col("url", "Link", text), col("clicks", "Clicks", count),
        col("uniqueClicks", "Messages clicked", count)],
      csv: (state) => ofCampaign(state, { dimensions: ["url"], metrics: ["clicked"],
        filters: [["isNot", "url", [null]]], orderBy: [["clicked", "desc"]] }),
    },
    {
      key: "devices", title: "Opens by device", rows: (d) => d.devices,
      csvNote: "The CSV counts messages opened per device, not open events (a message " +
        "opened twice on a phone is one): the query engine has no count of opens.",
      columns: [col("device", "Device", text), col("opens", "Opens", count)],
      csv: (state) => ofCampaign(state, { dimensions: ["device"], metrics: ["opened"],
        filters: [["isNot", "device", [null]]], orderBy: [["opened", "desc"]] }),
    },
    {
      key: "geo", title: "Opens by place", rows: (d) => d.geo,
      none: "No open with a country in this window.",
      csvNote: "The CSV is by country alone, counting messages opened: the query engine " +
        "offers no city and no count of open events.",
      columns: [col("country", "Country", text), col("city", "City", text),
        col("opens", "Opens", count)],
      csv: (state) => ofCampaign(state, { dimensions: ["country"], metrics: ["opened"],
        filters: [["isNot", "country", [null]]], orderBy: [["opened", "desc"]] }),
    },
  ],
};
