"""`GET /messages`: every message count, a zero-filled time series and per-channel rates."""

from __future__ import annotations

from datetime import datetime

import msgspec

from chanalytics.query.buckets import local_buckets
from chanalytics.query.message_totals import EVENTS, NO_EVENTS, message_totals
from chanalytics.query.rates import percent
from chanalytics.query.request import QueryRequest, TimeRange, epoch
from chanalytics.storage import Storage


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


class MessagesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: MessagesSummary
    time_series: list[MessagesPoint]
    by_channel: list[ChannelRates]


class MessagesQuery:
    """Answers `messages` from the message rollups (plus raw edge slices)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> MessagesData:
        buckets = local_buckets(request.window, request.granularity)
        totals = await message_totals(self.storage, request, buckets, distinct_series=True)
        t = totals.total
        summary = MessagesSummary(
            sent=t["sent"], delivered=t["delivered"], opened=t["opened"], clicked=t["clicked"],
            bounced=t["bounced"], complained=t["complained"],
            unsubscribed=t["unsubscribed"], failed=t["failed"],
        )
        opened, clicked = totals.distinct["opened"], totals.distinct["clicked"]
        series = []
        for start in buckets.starts:
            at = epoch(start)
            events = totals.bucket_events.get(at, NO_EVENTS)
            series.append(MessagesPoint(timestamp=start, sent=events.sent,
                                        delivered=events.delivered, opened=opened.get(at, 0),
                                        clicked=clicked.get(at, 0)))
        channels = [
            ChannelRates(
                channel=channel, sent=c["sent"], delivered=c["delivered"], opened=c["opened"],
                clicked=c["clicked"], delivery_rate=percent(c["delivered"], c["sent"]),
                open_rate=percent(c["opened"], c["delivered"]),
                click_rate=percent(c["clicked"], c["delivered"]),
            )
            for channel, c in totals.channels.items()
            if c[EVENTS] > 0
        ]
        channels.sort(key=lambda row: (-row.sent, row.channel))
        return MessagesData(time_range=TimeRange.of(request.window), summary=summary,
                            time_series=series, by_channel=channels)
