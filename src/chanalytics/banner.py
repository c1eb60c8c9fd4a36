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


def banner(url: str, nats_url: str, token: str | None, demo: bool) -> str:
    """`token` is the development token, None when keys come from CHANALYTICS_API_KEYS."""
    shown = token or "one of CHANALYTICS_API_KEYS (not shown)"
    lines = [
        f"chanalytics is running at {url}",
        f"  API:      {url}/api/v1/analytics/overview",
        f"  API docs: {url}/schema/swagger",
        f"  NATS:     {nats_url}" + ("  (demo traffic is being published)" if demo else ""),
        f"  token:    {shown}",
        f"  try:      curl -H 'Authorization: Bearer {token or '<token>'}' "
        f"{url}/api/v1/analytics/overview",
        f"  publish:  chanalytics publish --nats {nats_url} pipeline.message.sent "
        """'{"tenantId": "tenant_demo", "data": {"messageId": "m1", "channel": "email", """
        """"contactId": "c1"}}'""",
    ]
    return "\n".join(lines)
