"""Every request timed, counted and logged once: latency per endpoint and status in
`/metrics`, and a log line for each: `api.request.done` (debug), `api.request.rejected`
(info, a 4xx) or `api.request.failed` (error, a 5xx), the last two with the status and
the error envelope's code, field and message, as the client read them. An authenticated
analytics request is also recorded for `GET /api-usage` (`api/usage.py`)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from chanalytics.api.errors import ErrorBody, ErrorEnvelope
from chanalytics.api.services import services
from chanalytics.api.usage import PREFIX as USAGE_PREFIX

log = structlog.get_logger(__name__)

_ENVELOPE_MAX = 64 * 1024  # bytes of an error body worth reading for its code


def _error_of(body: bytes) -> ErrorBody | None:
    """The error an envelope body tells the client, or None for any other body."""
    if not body.startswith(b"{") or len(body) > _ENVELOPE_MAX:
        return None
    try:
        return msgspec.json.decode(body, type=ErrorEnvelope).error
    except msgspec.MsgspecError:
        return None


def _endpoint(scope: Scope) -> str:
    """The route's last fixed segment (`overview`, `query`, `live`), the handler's name
    where its path has none (`campaign`), or `unmatched`."""
    handler: Any = scope.get("route_handler")
    paths = sorted(getattr(handler, "paths", ()) or ())
    if not paths:
        return "unmatched"
    segments = [s for s in paths[0].split("/") if s and not s.startswith("{")]
    if segments:
        return str(segments[-1])
    # A handler whose own path is only a parameter (`/campaigns/{campaignId}`): its name.
    return "root" if paths[0] == "/" else str(getattr(handler, "handler_name", "root"))


def _record_usage(scope: Scope, tenant_id: str | None, status: int, seconds: float) -> None:
    """An authenticated analytics request, for `GET /api-usage` (`api/usage.py`)."""
    path = str(scope.get("path", ""))
    usage = services(scope["app"].state).usage
    if tenant_id is None or usage is None or not path.startswith(USAGE_PREFIX):
        return
    route = scope.get("path_template") or "unmatched"
    usage.record(tenant_id, str(scope.get("method")), route, status, seconds)


def request_timing(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        error: ErrorBody | None = None
        first_body = True

        async def sending(message: Message) -> None:
            nonlocal status, error, first_body
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and first_body:
                first_body = False
                if status >= 400:  # an envelope is one body message
                    error = _error_of(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            endpoint = _endpoint(scope)
            services(scope["app"].state).metrics.api_seconds.labels(
                endpoint=endpoint, status=str(status)).observe(seconds)
            state: Any = scope.get("state") or {}
            _record_usage(scope, state.get("tenant_id"), status, seconds)
            fields = {"method": scope.get("method"), "path": str(scope.get("path", ""))[:256],
                      "endpoint": endpoint, "status": status,
                      "tenant_id": state.get("tenant_id"),
                      "duration_ms": round(seconds * 1000, 2)}
            if error is not None:
                fields.update(code=error.code, field=error.field, error=error.message[:300])
            if status >= 500:
                log.error("api.request.failed", **fields)
            elif status >= 400:
                log.info("api.request.rejected", **fields)
            else:
                log.debug("api.request.done", **fields)

    return middleware
