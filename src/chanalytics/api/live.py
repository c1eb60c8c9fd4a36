"""`GET /live` (Server-Sent Events) and `POST /live/tickets`.

Every check happens before the stream starts, so a bad request gets the usual error
envelope: the credentials (a bearer token, or a single-use ticket for `EventSource`),
`types`, `channel`, `timezone`, `Last-Event-ID`, and the tenant's stream limit (429).
The stream then sends the snapshot (the `realtime` answer) or, when a client resumes,
the events it missed; then each stored event once, in stream order; a `dropped` notice
where a client that fell behind lost events; a keep-alive comment when idle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import msgspec
import structlog
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from chanalytics.api.analytics import Envelope
from chanalytics.api.auth import LIVE_AUTH
from chanalytics.api.errors import ErrorEnvelope, error_response
from chanalytics.api.examples import answered
from chanalytics.api.parameters import ERROR_RESPONSES, Channel, Timezone
from chanalytics.api.services import LiveServices
from chanalytics.live.hub import KEEPALIVE_SECONDS, Listener, LiveHub, TooManyStreams, frame
from chanalytics.live.stored import EVENT_TYPES
from chanalytics.query.answer import answer
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import parse_channel
from chanalytics.query.presets.realtime import PipelineLag, RealtimeData, realtime
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import today_window

log = structlog.get_logger(__name__)


Types = Annotated[str | None, QueryParameter(
    name="types", required=False,
    description="Only these event types, comma-separated (e.g. message_sent,message_clicked).")]
LastEventId = Annotated[str | None, HeaderParameter(
    name="Last-Event-ID", required=False,
    description="Resume after this event's id (EventSource sends it on reconnecting).")]


class TicketData(msgspec.Struct, frozen=True, rename="camel"):
    ticket: str
    expires_at: datetime


def parse_types(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    types = frozenset(t.strip() for t in value.split(","))
    unknown = sorted(types - EVENT_TYPES)
    if unknown or not types:
        raise BadParameter("invalid_types", f"unknown event types: {', '.join(unknown)[:200]}"
                           if unknown else "types is empty", "types")
    return types


def parse_last_event_id(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 30:
        raise BadParameter("invalid_last_event_id",
                           "Last-Event-ID must be an event id of this stream", "Last-Event-ID")
    return int(value)


class LiveController(Controller):
    """The tenant's stored events as they are stored."""

    path = "/api/v1/analytics"
    tags = ("real time",)
    security = ({"bearerAuth": []},)

    @post("/live/tickets", status_code=200,
          summary="A single-use ticket (60 s) to open the live stream from a browser",
          responses=answered("ticket", Envelope[TicketData], errors={
              **ERROR_RESPONSES, 503: ResponseSpec(
                  data_container=ErrorEnvelope, description="No NATS: no live stream")}))
    async def ticket(self, tenant_id: NamedDependency[str], now: NamedDependency[datetime],
                     live: NamedDependency[LiveServices | None]) -> Any:
        """For `EventSource`, which cannot send headers: `GET /live?ticket=…`."""
        if live is None:
            return _unavailable()
        ticket, expires_at = await live.tickets.issue(tenant_id, now)
        return Envelope(data=TicketData(ticket, expires_at))

    @get("/live", summary="Stored events as they are stored (Server-Sent Events)",
         media_type="text/event-stream", dependencies={"tenant_id": LIVE_AUTH})
    async def stream(self, tenant_id: NamedDependency[str], now: NamedDependency[datetime],
                     engine: NamedDependency[Engine], live: NamedDependency[LiveServices | None],
                     pipeline_lag: NamedDependency[PipelineLag | None], types: Types = None,
                     channel: Channel = None, timezone: Timezone = None,
                     last_event_id: LastEventId = None) -> Any:
        """First `event: snapshot` (the realtime answer), or on resume every event stored
        after `Last-Event-ID`; then `event: event` per stored event; `event: dropped`
        when the client fell behind; `event: reset` and a snapshot when it cannot resume."""
        if live is None:
            return _unavailable()
        hub, tenant = live.hub, tenant_id
        wanted = parse_types(types)
        only = parse_channel(channel)
        asked = QueryRequest(tenant_id=tenant, window=today_window(now, timezone),
                             channel=only)  # the snapshot's; parses `timezone`
        after = parse_last_event_id(last_event_id)
        try:
            listener = hub.open(tenant, channel=only, types=wanted)
        except TooManyStreams:
            return error_response(429, "too_many_streams",
                                  f"at most {hub.per_tenant} open live streams per tenant")
        try:
            first = await _first(hub, listener, after,
                                 partial(snapshot, engine, asked, pipeline_lag))
        except BaseException:
            hub.close(listener)
            raise
        return Stream(_stream(hub, listener, first, live.keepalive),
                      media_type="text/event-stream",
                      headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _unavailable() -> Any:
    return error_response(503, "live_unavailable",
                          "the live stream needs NATS: set CHANALYTICS_NATS_URL")


async def snapshot(engine: Engine, request: QueryRequest,
                   lag: PipelineLag | None) -> RealtimeData:
    """The stream's first message: the tenant's `realtime` answer."""
    return await answer("realtime", partial(realtime, lag=lag), engine, request, None)


async def _first(hub: LiveHub, listener: Listener, after: int | None,
                 snapshot: Callable[[], Awaitable[msgspec.Struct]]) -> bytes:
    """What the stream starts with: nothing more when it resumes (the listener reads the
    missed events from the stream), else the snapshot (after `reset` when the cursor is gone)."""
    if after is not None and await hub.resume(listener, after):
        return b""
    data = await snapshot()
    reset = frame("reset", {"reason": "cursor not kept"}) if after is not None else b""
    return reset + frame("snapshot", data)


async def _stream(hub: LiveHub, listener: Listener, first: bytes,
                  keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[bytes]:
    """The response body; the listener is closed however the client leaves."""
    try:
        yield first or b": resumed\n\n"
        async for chunk in hub.frames(listener, keepalive):
            yield chunk
    finally:
        hub.close(listener)
