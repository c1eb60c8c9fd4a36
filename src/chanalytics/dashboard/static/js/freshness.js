// How fresh the numbers are (`/realtime`'s freshness), written on every view, so that a
// stalled pipeline is not mistaken for a quiet day.
import { ago, instant } from "./format.js";

export function freshnessText(freshness, timeZone) {
  if (!freshness) return "Freshness unknown";
  const stored = freshness.newestStoredAt
    ? `newest event stored ${instant(freshness.newestStoredAt, timeZone)} (${ago(freshness.newestStoredAt)})`
    : "no event stored yet";
  const lag = freshness.pipelineLagSeconds == null
    ? "pipeline lag unknown"
    : `pipeline lag ${freshness.pipelineLagSeconds.toFixed(1)} s`;
  return `Data: ${stored}; ${lag}`;
}

export function showFreshness(freshness, timeZone) {
  const text = freshnessText(freshness, timeZone);
  for (const node of document.querySelectorAll(".freshness")) node.textContent = text;
}
