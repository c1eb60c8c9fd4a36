"""`GET /messages`: every message count, a zero-filled time series and per-channel rates."""

from __future__ import annotations

from datetime import datetime

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange


class MessagesSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    unsubscribed: int
    failed: int


class MessagesPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    sent: int
    delivered: int
    opened: int
    clicked: int


class ChannelRates(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    sent: int
    delivered: int
    opened: int
    clicked: int
    delivery_rate: float
    open_rate: float
    click_rate: float


class MessagesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                   omit_defaults=True):
    time_range: TimeRange
    summary: MessagesSummary
    time_series: list[MessagesPoint]
    by_channel: list[ChannelRates]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: MessagesData | None = None
    change: dict[str, float | None] | None = None


SUMMARY = tuple(MessagesSummary.__struct_fields__)
SERIES = ("sent", "delivered", "opened", "clicked")


async def messages(engine: Engine, request: QueryRequest) -> MessagesData:
    """Every message count, in total, per channel and per local bucket."""
    only = request.channel_filter()
    totals, series = await engine.run_all(
        request.query((*SUMMARY, "message_events"), (), ("channel",), filters=only),
        request.query(SERIES, ("time",), filters=only))
    t = totals.total()
    channels = [
        ChannelRates(
            channel=channel, sent=c["sent"], delivered=c["delivered"], opened=c["opened"],
            clicked=c["clicked"], **metric_values(
                c, delivery_rate="deliveryRate", open_rate="openRate", click_rate="clickRate"))
        for (channel,), c in totals.by(("channel",)).items() if c["message_events"]]
    channels.sort(key=lambda row: (-row.sent, row.channel))
    return MessagesData(
        time_range=TimeRange.of(request.window),
        summary=MessagesSummary(**{name: t[name] for name in SUMMARY}),
        time_series=[MessagesPoint(timestamp=start, **{name: v[name] for name in SERIES})
                     for start, v in series.series()],
        by_channel=channels,
    )
