// Numbers written out in full (thousands separators, never "12.3k").
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });

export const count = (n) => (n == null ? "–" : whole.format(n));
export const percent = (n) => (n == null ? "–" : `${decimal.format(n)} %`);
export const amount = (n) => (n == null ? "–" : money.format(n));

// `change` of a compared answer: relative percent, or percentage points for rates.
export function change(value, isRate) {
  if (value == null) return { text: "no earlier value to compare", tone: "" };
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  const text = `${sign}${decimal.format(Math.abs(value))} ${isRate ? "pp" : "%"}`;
  return { text, tone: value > 0 ? "up" : value < 0 ? "down" : "" };
}

export function instant(iso, timeZone) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium", timeStyle: "medium", timeZone,
  }).format(new Date(iso));
}

export function ago(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

const perMessage = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
const tenth = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

// A cost per message (6 decimals, as the API rounds it), in USD.
export const unitCost = (n) => (n == null ? "–" : perMessage.format(n));
// Latencies in milliseconds, one decimal as the API gives them (the unit is in the header).
export const ms = (n) => (n == null ? "–" : tenth.format(n));
// A score or other plain number with two decimals.
export const score = (n) => (n == null ? "–" : decimal.format(n));
export const text = (v) => (v == null || v === "" ? "–" : String(v));

// A bucket's start, in the view's zone, short enough for an axis.
export function bucketLabel(iso, granularity, timeZone) {
  const options = granularity === "hour"
    ? { month: "short", day: "numeric", hour: "2-digit", timeZone }
    : { month: "short", day: "numeric", timeZone };
  return new Intl.DateTimeFormat(undefined, options).format(new Date(iso));
}

// The window an answer covers, in the view's zone (the end is exclusive).
export function windowText(range, timeZone) {
  const at = (iso) => new Date(iso).toLocaleString(undefined, { timeZone });
  return `${at(range.start)} – ${at(range.end)} (${timeZone})`;
}

// A duration given in seconds (a funnel's median time), in the unit that reads best, one
// decimal: seconds below two minutes, minutes below two hours, hours below two days, days.
export function duration(seconds) {
  if (seconds == null) return "–";
  if (seconds < 120) return `${tenth.format(seconds)} s`;
  if (seconds < 7200) return `${tenth.format(seconds / 60)} min`;
  if (seconds < 172800) return `${tenth.format(seconds / 3600)} h`;
  return `${tenth.format(seconds / 86400)} days`;
}
