// The API token, kept in this tab's session storage and sent as a bearer header; it never
// goes into a URL. A sign-in link carries a one-time ticket in its fragment instead.
const KEY = "chanalytics.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// `#ticket=…` of `chanalytics run`'s link: exchanged once for the token, then removed
// from the address bar (and so from history) before anything else runs.
export async function redeemLinkTicket() {
  const found = new URLSearchParams(location.hash.slice(1)).get("ticket");
  if (!found) return null;
  history.replaceState(null, "", location.pathname + location.search);
  const response = await fetch("/dashboard/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ticket: found }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body?.success) {
    return { error: body?.error?.message ?? `sign-in link refused (${response.status})` };
  }
  signIn(body.data.token);
  return { ok: true };
}
