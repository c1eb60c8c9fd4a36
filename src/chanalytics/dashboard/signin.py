"""One-time sign-in tickets for the link `chanalytics run` prints (`/#ticket=…`).

The link must open the dashboard signed in without putting the API token in a URL. The
CLI mints a ticket for a token at start; the page reads it from the URL fragment (never
sent to a server, kept out of logs and history), posts it once to `POST
/dashboard/sign-in` and receives the token, which it keeps in session storage like a
typed one. Tickets live in this process's memory only: a restart, a use or `TTL` ends
them, and no API call can mint one, so the page grants nothing a token holder lacks.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TTL = timedelta(hours=12)  # the banner is read when the service starts, or soon after


@dataclass(frozen=True)
class _Grant:
    token: str
    expires_at: datetime


class SignInTickets:
    """Tickets minted by the CLI, each exchanged once for its token."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._grants: dict[str, _Grant] = {}

    def mint(self, token: str) -> str:
        ticket = secrets.token_urlsafe(24)
        self._grants[ticket] = _Grant(token, self._clock() + TTL)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The ticket's token, once; None when unknown, used or expired."""
        found = next((known for known in self._grants
                      if hmac.compare_digest(known.encode(), ticket.encode())), None)
        if found is None:
            return None
        grant = self._grants.pop(found)
        return grant.token if self._clock() < grant.expires_at else None
