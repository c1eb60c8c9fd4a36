// Navigation between the views: plain links to the page's own URL with `view` set and the
// other controls kept, so each view can be bookmarked, opened in a new tab or reached with
// the keyboard like any link; a plain click switches in place (history.pushState).
import { SUBVIEWS, VIEWS, stateQuery } from "./state.js";

export const TITLES = {
  overview: "Overview", channels: "Channels", deliverability: "Deliverability",
  costs: "Costs", campaigns: "Campaigns", workflows: "Workflows", sequences: "Sequences",
  templates: "Templates", traffic: "Traffic", engagement: "Engagement",
  campaign: "Campaign", compare: "Compare campaigns", suppressions: "Suppressions",
  funnel: "Funnel", cohorts: "Cohorts", alerts: "Alerts",
};

export function buildNav(list, onPick) {
  list.replaceChildren(...VIEWS.map((view) => {
    const item = document.createElement("li");
    const link = Object.assign(document.createElement("a"), { textContent: TITLES[view], href: `?view=${view}` });
    link.dataset.view = view;
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      onPick(view);
    });
    item.append(link);
    return item;
  }));
}

// Every link carries the current controls; the current view's link says it is current (a
// sub-view's parent: the campaigns link while a campaign's deep-dive is open).
export function showNav(list, state) {
  const shown = SUBVIEWS[state.view] ?? state.view;
  for (const link of list.querySelectorAll("a")) {
    link.href = stateQuery({ ...state, view: link.dataset.view });
    if (link.dataset.view === shown) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[state.view]} · chanalytics dashboard`;
}
