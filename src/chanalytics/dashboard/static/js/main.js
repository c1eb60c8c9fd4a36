// Boot: sign in (a link's ticket, a kept token, or the form), then render the views for
// the state in the URL and re-render whenever a control or the history changes it.
import { CAMPAIGNS, SEQUENCES, TEMPLATES, WORKFLOWS } from "./activity.js";
import { ALERTS } from "./alerts.js";
import { ApiError } from "./api.js";
import { CAMPAIGN } from "./campaign.js";
import { COHORTS } from "./cohorts.js";
import { COMPARE } from "./compare.js";
import { CHANNELS, COSTS, DELIVERABILITY } from "./delivery.js";
import { ENGAGEMENT } from "./engagement.js";
import { FUNNEL } from "./funnel.js";
import { LiveStrip } from "./live.js";
import { buildNav, showNav } from "./nav.js";
import { downloadChannels, renderOverview } from "./overview.js";
import { readState, writeState } from "./state.js";
import { redeemLinkTicket, signIn, signOut, token } from "./session.js";
import { SUPPRESSIONS } from "./suppressions.js";
import { TRAFFIC } from "./traffic.js";
import { buildSection, downloadTable, renderView } from "./view.js";

const $ = (selector) => document.querySelector(selector);
const VIEWS = Object.fromEntries([CHANNELS, DELIVERABILITY, SUPPRESSIONS, COSTS, CAMPAIGNS,
  CAMPAIGN, COMPARE, WORKFLOWS, SEQUENCES, TEMPLATES, TRAFFIC, ENGAGEMENT, FUNNEL, COHORTS,
  ALERTS].map((view) => [view.id, view]));
let live = null;
let liveFor = null; // the live strip's timezone and channel: a view change keeps its stream
let rendering = 0;

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
  liveFor = null;
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

const sectionOf = (view) => $(`.view[data-view="${view}"]`);

async function render() {
  const state = readState();
  const turn = ++rendering;
  fillControls(state);
  showNav($("#views-nav"), state);
  for (const section of document.querySelectorAll(".view")) section.hidden = section.dataset.view !== state.view;
  const section = sectionOf(state.view);
  clearError(section);
  document.body.dataset.loading = "true";
  const current = () => turn === rendering;
  const shown = (state.view === "overview" ? renderOverview(section, state, current)
    : renderView(section, VIEWS[state.view], state, current))
    .catch((e) => current() && showError(section, e));
  let streaming = null;
  const liveKey = `${state.timezone} ${state.channel}`;
  if (liveKey !== liveFor) {
    liveFor = liveKey;
    clearError($("#live"));
    streaming = live.start(state).catch((e) => showError($("#live"), e));
  }
  await Promise.all([shown, streaming]);
  if (turn === rendering) document.body.dataset.loading = "false";
}

function showDashboard() {
  $("#signin").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  return render();
}

function wire() {
  live = new LiveStrip($("#live"), (e) => showError($("#live"), e));
  $("#views").append(...Object.values(VIEWS).map(buildSection));
  buildNav($("#views-nav"), (view) => {
    writeState({ ...readState(), view });
    render();
  });
  // Links between views inside a view (a campaign row, the way back, the next page): a
  // plain click switches in place, like the navigation's links.
  $("#views").addEventListener("click", (event) => {
    const link = event.target.closest("a.in-page");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
      event.altKey) return;
    event.preventDefault();
    history.pushState(null, "", link.getAttribute("href"));
    render();
  });
  // A view's own control (the engagement level, a suppression's reason, the funnel's
  // window, an alert's state or kind) writes its parameter and starts again at the first page.
  $("#views").addEventListener("change", (event) => {
    const param = event.target.dataset?.param;
    if (!param) return;
    writeState({ ...readState(), [param]: event.target.value.trim(), cursor: "" });
    render();
  });
  // A view's own form (the campaigns picked to compare, a saved budget) asks for a new
  // state, or for the same one drawn again.
  $("#views").addEventListener("dashboard:state", (event) => {
    writeState({ ...readState(), ...event.detail });
    render();
  });
  $("#views").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-csv]");
    const section = button?.closest(".view");
    if (!section || !VIEWS[section.dataset.view]) return;
    downloadTable(VIEWS[section.dataset.view], button.dataset.csv, readState())
      .catch((e) => showError(section, e));
  });
  const zones = Intl.supportedValuesOf?.("timeZone") ?? [];
  $("#zones").replaceChildren(...zones.map((zone) => Object.assign(document.createElement("option"), { value: zone })));
  $("#controls").addEventListener("change", () => {
    const state = controlsState();
    for (const node of document.querySelectorAll(".custom-dates")) {
      node.hidden = $("#range").value !== "custom";
    }
    if (!state) return;
    // A page's cursor belongs to the query it came from: new controls start at page one.
    writeState({ ...readState(), ...state, cursor: "" });
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
