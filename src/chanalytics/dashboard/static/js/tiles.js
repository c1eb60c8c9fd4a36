// A number tile: its name, the number in full, and its change against the compared window
// (relative %, or percentage points for rates) when the answer carries one.
import { change } from "./format.js";

// Numbers whose rise is bad news: their change is coloured the other way round.
const RISE_IS_WORSE = new Set(["bounced", "hardBounced", "softBounced", "complained",
  "unsubscribed", "failed", "suppressedContacts", "bounceRate", "hardBounceRate",
  "complaintRate", "unsubscribeRate", "failureRate", "totalCost", "avgCostPerMessage",
  "failedRuns"]);

export function tile(key, name, format, value, delta, compared) {
  const item = document.createElement("li");
  item.className = "tile";
  item.dataset.metric = key;
  const label = Object.assign(document.createElement("div"), { className: "name", textContent: name });
  const number = Object.assign(document.createElement("div"), { className: "value", textContent: format(value) });
  number.dataset.value = String(value);
  item.append(label, number);
  if (compared) {
    const shown = change(delta, key.endsWith("Rate"));
    const rose = shown.tone === "up";
    const tone = shown.tone === "" ? "" : rose !== RISE_IS_WORSE.has(key) ? "better" : "worse";
    item.append(Object.assign(document.createElement("div"), {
      className: `change ${tone}`, textContent: shown.text,
    }));
  }
  return item;
}
