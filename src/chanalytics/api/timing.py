"""Every request timed, counted and logged once: latency per endpoint and status in
`/metrics`, and a log line for each (a warning for every 4xx/5xx, with its status)."""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


def _endpoint(scope: Scope) -> str:
    """The route's last fixed segment (`overview`, `query`, `live`), or `unmatched`."""
    handler: Any = scope.get("route_handler")
    paths = sorted(getattr(handler, "paths", ()) or ())
    if not paths:
        return "unmatched"
    segments = [s for s in paths[0].split("/") if s and not s.startswith("{")]
    return segments[-1] if segments else "root"


def request_timing(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            endpoint = _endpoint(scope)
            scope["app"].state.metrics.api_seconds.labels(
                endpoint=endpoint, status=str(status)).observe(seconds)
            state: Any = scope.get("state") or {}
            fields = {"method": scope.get("method"), "path": scope.get("path"),
                      "endpoint": endpoint, "status": status,
                      "tenant_id": state.get("tenant_id"),
                      "duration_ms": round(seconds * 1000, 2)}
            if status >= 400:
                log.warning("api.request.failed", **fields)
            else:
                log.debug("api.request.done", **fields)

    return middleware
