"""`GET /overview`: totals, per-channel totals and a daily sent/delivered trend."""

from __future__ import annotations

import msgspec

from chanalytics.query.buckets import local_buckets
from chanalytics.query.filters import CHANNELS
from chanalytics.query.message_totals import EVENTS, NO_EVENTS, message_totals
from chanalytics.query.rates import percent
from chanalytics.query.request import QueryRequest, TimeRange, epoch
from chanalytics.query.timerange import Granularity, local_date
from chanalytics.storage import Storage


class OverviewSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total_messages_sent: int
    total_delivered: int
    total_opened: int
    total_clicked: int
    delivery_rate: float
    open_rate: float
    click_rate: float


class ChannelTotals(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sent: int
    delivered: int
    opened: int
    clicked: int


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    date: str
    sent: int
    delivered: int


class OverviewData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: OverviewSummary
    by_channel: dict[str, ChannelTotals]
    trend: list[TrendPoint]


class OverviewQuery:
    """Answers `overview` from the message rollups (plus raw edge slices)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> OverviewData:
        window = request.window
        days = local_buckets(window, Granularity.DAY)
        totals = await message_totals(self.storage, request, days, distinct_series=False)
        t = totals.total
        summary = OverviewSummary(
            total_messages_sent=t["sent"], total_delivered=t["delivered"],
            total_opened=t["opened"], total_clicked=t["clicked"],
            delivery_rate=percent(t["delivered"], t["sent"]),
            open_rate=percent(t["opened"], t["delivered"]),
            click_rate=percent(t["clicked"], t["delivered"]),
        )
        order = {name: i for i, name in enumerate(CHANNELS)}
        by_channel = {
            channel: ChannelTotals(sent=c["sent"], delivered=c["delivered"],
                                   opened=c["opened"], clicked=c["clicked"])
            for channel, c in sorted(totals.channels.items(),
                                     key=lambda item: (order.get(item[0], len(order)), item[0]))
            if c[EVENTS] > 0
        }
        trend = []
        for day in days.starts:
            events = totals.bucket_events.get(epoch(day), NO_EVENTS)
            trend.append(TrendPoint(date=local_date(day, window.tz), sent=events.sent,
                                    delivered=events.delivered))
        return OverviewData(time_range=TimeRange.of(window), summary=summary,
                            by_channel=by_channel, trend=trend)
