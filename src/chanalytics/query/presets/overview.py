"""`GET /overview`: totals, per-channel totals and a daily sent/delivered trend."""

from __future__ import annotations

import msgspec

from chanalytics.query.clock import Granularity, local_date
from chanalytics.query.engine import Engine
from chanalytics.query.filters import CHANNELS
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange


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


class OverviewData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                   omit_defaults=True):
    time_range: TimeRange
    summary: OverviewSummary
    by_channel: dict[str, ChannelTotals]
    trend: list[TrendPoint]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: OverviewData | None = None
    change: dict[str, float | None] | None = None


TOTALS = ("sent", "delivered", "opened", "clicked", "message_events")


async def overview(engine: Engine, request: QueryRequest) -> OverviewData:
    """Message totals with rates, per channel, and per local day."""
    only = request.channel_filter()
    totals, trend = await engine.run_all(
        request.query(TOTALS, (), ("channel",), filters=only),
        request.query(("sent", "delivered"), ("time",), filters=only,
                      granularity=Granularity.DAY))
    t = totals.total()
    channels = totals.by_one("channel")
    return OverviewData(
        time_range=TimeRange.of(request.window),
        summary=OverviewSummary(
            total_messages_sent=t["sent"], total_delivered=t["delivered"],
            total_opened=t["opened"], total_clicked=t["clicked"],
            **metric_values(t, delivery_rate="deliveryRate", open_rate="openRate",
                            click_rate="clickRate")),
        by_channel={
            channel: ChannelTotals(sent=c["sent"], delivered=c["delivered"],
                                   opened=c["opened"], clicked=c["clicked"])
            for channel in CHANNELS if (c := channels.get(channel)) and c["message_events"]},
        trend=[TrendPoint(date=local_date(day, request.window.tz), sent=v["sent"],
                          delivered=v["delivered"]) for day, v in trend.series()],
    )
