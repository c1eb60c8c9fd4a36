"""What `chanalytics run` tells a person at start: where everything is and how to try it.

The development token (used when no `CHANALYTICS_API_KEYS` are set) is stored in the data
directory, so it stays the same across restarts of the same data; configured keys are
never printed.
"""

from __future__ import annotations

import secrets
from pathlib import Path

TOKEN_FILE = "dev-token"


def dev_token(data_dir: Path) -> str:
    """The data directory's development token, made on first use (readable by its owner)."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = f"dev-{secrets.token_urlsafe(18)}"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def banner(url: str, nats_url: str, token: str | None,
           demo_history: float | None = None, sign_in: str | None = None) -> str:
    """`token` is the development token, None when keys come from CHANALYTICS_API_KEYS;
    `demo_history`, with `--demo`: the seconds of history still to publish; `sign_in`, a
    one-time ticket that opens the dashboard signed in (`dashboard/signin.py`)."""
    shown = token or "one of CHANALYTICS_API_KEYS (not shown)"
    demo = demo_history is not None
    page = (f"{url}/#ticket={sign_in}  (opens it signed in, once)" if sign_in
            else f"{url}/  (sign in with the token)")
    lines = [
        f"chanalytics is running at {url}",
        f"  dashboard: {page}",
        f"  API:      {url}/api/v1/analytics/overview",
        f"  API docs: {url}/schema/swagger",
        f"  NATS:     {nats_url}" + ("  (demo traffic is being published)" if demo else ""),
        *([f"  demo:     {demo_line(demo_history)}"] if demo_history is not None else []),
        f"  token:    {shown}",
        f"  try:      curl -H 'Authorization: Bearer {token or '<token>'}' "
        f"{url}/api/v1/analytics/overview",
        f"  publish:  chanalytics publish --nats {nats_url} pipeline.message.sent "
        """'{"tenantId": "tenant_demo", "data": {"messageId": "m1", "channel": "email", """
        """"contactId": "c1"}}'""",
    ]
    return "\n".join(lines)


def demo_line(seconds: float) -> str:
    """What the demo's history is doing, for the banner."""
    if seconds < 1:
        return "history: nothing to load (it is published once per data directory)"
    return (f"history: loading {_span(seconds)}… (the numbers move until \"demo history: "
            "done\" is printed)")


def _span(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.0f} seconds"
