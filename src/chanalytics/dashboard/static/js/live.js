// The live strip: `/realtime`'s numbers (refreshed, with the freshness line) and the newest
// stored events from `GET /live`, opened with a single-use ticket because EventSource
// cannot send the bearer header.
import { BASE, get, post } from "./api.js";
import { amount, count, instant } from "./format.js";
import { showFreshness } from "./freshness.js";

const NUMBERS = [
  ["last5Minutes", "sent", "Sent, last 5 min", count],
  ["lastHour", "sent", "Sent, last hour", count],
  ["lastHour", "delivered", "Delivered, last hour", count],
  ["lastHour", "failed", "Failed, last hour", count],
  ["today", "sent", "Sent today", count],
  ["today", "clicked", "Clicked today", count],
  ["today", "totalCost", "Cost today", amount],
];
const SHOWN_EVENTS = 10;
const REFRESH_MS = 10000;

export class LiveStrip {
  constructor(root, onError) {
    this.root = root;
    this.onError = onError;
    this.source = null;
    this.timer = null;
    this.state = null;
  }

  async start(state) {
    this.stop();
    this.state = state;
    this.root.querySelector("#live-events").replaceChildren();
    await this.refresh();
    this.timer = setInterval(() => this.refresh().catch(this.onError), REFRESH_MS);
    await this.open();
  }

  stop() {
    clearInterval(this.timer);
    this.source?.close();
    this.source = null;
  }

  async refresh() {
    const data = await get("/realtime", { timezone: this.state.timezone, channel: this.state.channel || null });
    this.show(data);
  }

  show(realtime) {
    const list = this.root.querySelector("#live-numbers");
    list.replaceChildren(...[...NUMBERS.map(([window, key, name, format]) =>
      [name, format(realtime[window][key]), `${window}.${key}`]),
    ["Active campaigns", count(realtime.activeCampaigns), "activeCampaigns"]].map(([name, value, key]) => {
      const group = document.createElement("div");
      group.dataset.key = key;
      group.append(Object.assign(document.createElement("dt"), { textContent: name }),
        Object.assign(document.createElement("dd"), { textContent: value }));
      return group;
    }));
    showFreshness(realtime.freshness, this.state.timezone);
  }

  async open() {
    const { ticket } = await post("/live/tickets", {});
    const query = new URLSearchParams({ ticket, timezone: this.state.timezone });
    if (this.state.channel) query.set("channel", this.state.channel);
    const source = new EventSource(`${BASE}/live?${query}`);
    this.source = source;
    const status = this.root.querySelector("#live-status");
    source.addEventListener("open", () => { status.textContent = "Connected: new events appear as they are stored."; });
    source.addEventListener("snapshot", (e) => this.show(JSON.parse(e.data)));
    source.addEventListener("event", (e) => this.add(JSON.parse(e.data)));
    source.addEventListener("dropped", (e) => {
      status.textContent = `${count(JSON.parse(e.data).count)} events were skipped to keep up.`;
    });
    source.addEventListener("error", () => {
      // A ticket works once: reconnecting means a new ticket, not EventSource's own retry.
      source.close();
      if (this.source !== source) return;
      status.textContent = "Disconnected from the live stream; reconnecting…";
      setTimeout(() => this.source === source && this.open().catch(this.onError), 3000);
    });
  }

  add(event) {
    const list = this.root.querySelector("#live-events");
    const item = document.createElement("li");
    item.dataset.eventId = event.id;
    const where = [event.channel, event.provider].filter(Boolean).join(" via ");
    item.textContent = `${instant(event.occurredAt, this.state.timezone)} · ${event.type}` +
      `${where ? ` · ${where}` : ""} · ${event.entityType} ${event.entityId}`;
    list.prepend(item);
    while (list.children.length > SHOWN_EVENTS) list.lastElementChild.remove();
  }
}
