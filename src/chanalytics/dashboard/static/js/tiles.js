// A number tile: its name, the number in full, and its change against the compared window
// (relative %, or percentage points for rates) when the answer carries one.
import { change } from "./format.js";

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
    item.append(Object.assign(document.createElement("div"), {
      className: `change ${shown.tone}`, textContent: shown.text,
    }));
  }
  return item;
}
