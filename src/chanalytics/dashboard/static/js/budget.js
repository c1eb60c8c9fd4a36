// The monthly budget in the costs view: its state this month (`GET /costs`' `budget`) and a
// small form that sets it (`PUT /budget`) or removes it (`DELETE /budget`). The budget's own
// timezone is `GET /budget`'s, asked only when one is set (a 404 would be noise otherwise).
import { ApiError, get, send } from "./api.js";
import { amount, percent, text } from "./format.js";
import { compared, params } from "./view.js";

let said = ""; // what the last save or removal did, shown once after the view is redrawn

export async function loadCosts(state) {
  const data = await get("/costs", params(state, { granularity: state.granularity, compare: compared(state) }));
  const setting = data.budget ? await send("GET", "/budget").catch((e) => {
    if (e instanceof ApiError && e.status === 404) return null; // removed meanwhile
    throw e;
  }) : null;
  return { ...data, budgetSetting: setting };
}

const el = (name, props = {}, ...children) => {
  const node = Object.assign(document.createElement(name), props);
  node.append(...children);
  return node;
};

function strip(budget) {
  const list = el("dl", { className: `strip budget status-${budget.status === "ok" ? "ok" : "warn"}` });
  const items = [["month", "Month", text], ["monthlyBudget", "Budget (USD)", amount],
    ["spent", "Spent so far (USD)", amount], ["percentUsed", "Used", percent],
    ["projectedSpend", "Projected for the month (USD)", amount], ["status", "Status", text]];
  list.append(...items.map(([key, name, format]) => {
    const value = el("dd", { textContent: format(budget[key]) });
    value.dataset.value = String(budget[key]);
    const group = el("div", {}, el("dt", { textContent: name }), value);
    group.dataset.key = key;
    return group;
  }));
  return list;
}

const field = (input, label) => el("div", { className: "field" },
  el("label", { htmlFor: input.id, textContent: label }), input);

function form(root, setting, state) {
  const money = el("input", { id: "budget-amount", name: "monthlyBudget", type: "number",
    step: "any", required: true, inputMode: "decimal", value: setting?.monthlyBudget ?? "" });
  const zone = el("input", { id: "budget-timezone", name: "timezone", autocomplete: "off",
    spellcheck: false, value: setting?.timezone ?? state.timezone });
  zone.setAttribute("list", "zones");
  // Not `.error`: that one is the view's own, for the API's answer to the view's GET.
  const error = el("p", { className: "form-error", hidden: true });
  error.setAttribute("role", "alert");
  const status = el("p", { className: "muted status", textContent: said });
  status.setAttribute("aria-live", "polite");
  said = "";
  const buttons = el("div", { className: "buttons" }, el("button", { type: "submit", textContent: "Save budget" }));
  const node = el("form", { id: "budget-form", className: "budget-form" },
    field(money, "Monthly budget (USD)"), field(zone, "Months begin in (timezone)"), buttons);
  node.setAttribute("aria-label", "Set the monthly budget");
  const done = (message) => {
    said = message;
    root.dispatchEvent(new CustomEvent("dashboard:state", { bubbles: true, detail: {} }));
  };
  const failed = (e) => {
    error.textContent = e instanceof ApiError
      ? `The API answered ${e.status} ${e.code}: ${e.message}` : `Could not reach the service: ${e.message}`;
    error.hidden = false;
  };
  node.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    send("PUT", "/budget", { monthlyBudget: Number(money.value), timezone: zone.value.trim() || "UTC" })
      .then((saved) => done(`Saved: ${amount(saved.monthlyBudget)} USD a month, months of ${saved.timezone}.`))
      .catch(failed);
  });
  if (setting) {
    const remove = el("button", { type: "button", id: "budget-remove", textContent: "Remove budget" });
    remove.addEventListener("click", () => {
      error.hidden = true;
      send("DELETE", "/budget").then(() => done("The budget was removed.")).catch(failed);
    });
    buttons.append(remove);
  }
  return [node, error, status];
}

export function budgetBlock(root, data, state) {
  const budget = data.budget;
  const title = el("h3", { className: "sub", textContent: "Monthly budget" });
  const about = budget
    ? [strip(budget), el("p", { className: "muted", textContent: `The month of now in the budget's ` +
      `own timezone (${data.budgetSetting?.timezone ?? "unknown"}), whatever the range.` })]
    : [el("p", { className: "muted", textContent: "No monthly budget is set. Set one here: " +
      "this month's spending against it then shows above the form." })];
  root.replaceChildren(title, ...about, ...form(root, data.budgetSetting, state));
}
