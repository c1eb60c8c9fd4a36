// Calls of the documented API with the session's bearer token; an error answer becomes an
// ApiError carrying the API's own code and message, so views show it as it is.
import { token } from "./session.js";

export const BASE = "/api/v1/analytics";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${token()}`, ...extra };
}

async function failure(response) {
  const body = await response.json().catch(() => null);
  const error = body?.error ?? {};
  return new ApiError(response.status, error.code ?? "http_error",
    error.message ?? `${response.status} ${response.statusText}`);
}

export async function get(path, params = {}) {
  // A list is the parameter given once per value (`campaignId=a&campaignId=b`).
  const query = new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v : [v])
    .filter((one) => one != null && one !== "").map((one) => [k, one])));
  const response = await fetch(`${BASE}${path}?${query}`, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return (await response.json()).data;
}

export async function post(path, body, accept = "application/json") {
  const response = await fetch(`${BASE}${path}`, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: accept }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return accept === "application/json" ? (await response.json()).data : response.blob();
}

// A call whose answer has no envelope (the budget): the parsed body, or null for 204.
export async function send(method, path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// A file through fetch and a Blob: a link with the token in its URL would leak it.
export async function download(path, body, filename) {
  save(await post(path, body, "text/csv"), filename);
}

// A Blob saved as a file by the browser.
export function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
