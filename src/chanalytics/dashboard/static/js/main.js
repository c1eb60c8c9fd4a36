// Boot: sign in (a link's ticket, a kept token, or the form), then render the views for
// the state in the URL and re-render whenever a control or the history changes it.
import { ApiError } from "./api.js";
import { LiveStrip } from "./live.js";
import { downloadChannels, renderOverview } from "./overview.js";
import { readState, writeState } from "./state.js";
import { redeemLinkTicket, signIn, signOut, token } from "./session.js";

const $ = (selector) => document.querySelector(selector);
let live = null;

function showError(section, error) {
  const box = section.querySelector(".error");
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    showSignIn(`Signed out: ${error.message}`);
    return;
  }
  box.textContent = error instanceof ApiError
    ? `The API answered ${error.status} ${error.code}: ${error.message}`
    : `Could not reach the service: ${error.message}`;
  box.hidden = false;
}

function clearError(section) {
  section.querySelector(".error").hidden = true;
}

function showSignIn(message) {
  live?.stop();
  $("#dashboard").hidden = true;
  $("#sign-out").hidden = true;
  $("#signin").hidden = false;
  const box = $("#signin-error");
  box.textContent = message ?? "";
  box.hidden = !message;
  $("#token").focus();
}

function fillControls(state) {
  const form = $("#controls");
  form.timeRange.value = state.timeRange;
  form.startDate.value = state.startDate;
  form.endDate.value = state.endDate;
  form.timezone.value = state.timezone;
  form.granularity.value = state.granularity;
  form.channel.value = state.channel;
  form.compare.value = state.compare;
  for (const node of form.querySelectorAll(".custom-dates")) node.hidden = state.timeRange !== "custom";
}

function controlsState() {
  const form = $("#controls");
  const state = {
    timeRange: form.timeRange.value, startDate: form.startDate.value, endDate: form.endDate.value,
    timezone: form.timezone.value.trim(), granularity: form.granularity.value,
    channel: form.channel.value, compare: form.compare.value,
  };
  if (state.timeRange === "custom" && !(state.startDate && state.endDate)) return null;
  return state;
}

async function render() {
  const state = readState();
  fillControls(state);
  const overview = $("#overview");
  clearError(overview);
  clearError($("#live"));
  document.body.dataset.loading = "true";
  const shown = renderOverview(overview, state).catch((e) => showError(overview, e));
  const streaming = live.start(state).catch((e) => showError($("#live"), e));
  await Promise.all([shown, streaming]);
  document.body.dataset.loading = "false";
}

function showDashboard() {
  $("#signin").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  return render();
}

function wire() {
  live = new LiveStrip($("#live"), (e) => showError($("#live"), e));
  const zones = Intl.supportedValuesOf?.("timeZone") ?? [];
  $("#zones").replaceChildren(...zones.map((zone) => Object.assign(document.createElement("option"), { value: zone })));
  $("#controls").addEventListener("change", () => {
    const state = controlsState();
    for (const node of document.querySelectorAll(".custom-dates")) {
      node.hidden = $("#range").value !== "custom";
    }
    if (!state) return;
    writeState(state);
    render();
  });
  $("#controls").addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("popstate", () => token() && render());
  $("#signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("#token").value.trim());
    $("#token").value = "";
    showDashboard();
  });
  $("#sign-out").addEventListener("click", () => {
    signOut();
    showSignIn("Signed out.");
  });
  $("#channels-csv").addEventListener("click", () => {
    const state = readState();
    downloadChannels(state).catch((e) => showError($("#overview"), e));
  });
}

async function boot() {
  wire();
  const redeemed = await redeemLinkTicket();
  if (redeemed?.error && !token()) {
    showSignIn(redeemed.error);
    return;
  }
  if (token()) await showDashboard();
  else showSignIn();
}

boot();
