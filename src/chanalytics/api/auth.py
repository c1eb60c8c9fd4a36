"""The tenant of a request, from its bearer token; never from a parameter."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException

from chanalytics.api.parameters import LiveTicket
from chanalytics.api.services import services

_SCHEME = "bearer"


def tenant_for_token(token: str, tokens: Mapping[str, str]) -> str | None:
    """The tenant whose token is `token`, comparing in constant time against every token."""
    presented = token.encode()
    found: str | None = None
    for candidate, tenant in tokens.items():
        # No early exit: the time taken does not tell how many tokens were tried.
        if hmac.compare_digest(presented, candidate.encode()):
            found = tenant
    return found


def authenticate(request: Request[Any, Any, Any], state: State) -> str:
    """Dependency: the tenant id of `Authorization: Bearer <token>`, else 401."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _SCHEME or not token:
        raise NotAuthorizedException("missing bearer token")
    tenant = tenant_for_token(token, services(state).tokens)
    if tenant is None:
        raise NotAuthorizedException("unknown token")
    request.state.tenant_id = tenant  # for the request's log line
    return tenant


async def authenticate_live(request: Request[Any, Any, Any], state: State,
                            ticket: LiveTicket = None) -> str:
    """Dependency of `GET /live`: the tenant of a single-use ticket (`live/tickets.py`)
    when one is given, else of the bearer token; 401 for a bad ticket."""
    found = services(state)
    if ticket is None or found.live is None:
        return authenticate(request, state)
    tenant = await found.live.tickets.redeem(ticket, found.clock())
    if tenant is None:
        raise NotAuthorizedException("unknown, used or expired ticket")
    request.state.tenant_id = tenant
    return tenant


AUTH = Provide(authenticate, sync_to_thread=False)
LIVE_AUTH = Provide(authenticate_live)
