"""`GET /channels`: channel and provider performance — outcomes, latency percentiles, cost,
a composite score per provider, the commonest error codes and a series with p95 latency
(`docs/delivery.md`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import CATALOGUE, metric_values
from chanalytics.query.request import QueryRequest, TimeRange

Values = Mapping[str, Any]


class Latency(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    samples: int
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Cost(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total: float
    avg_cost_per_message: float | None


class ChannelPerformance(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    sent: int
    delivered: int
    failed: int
    bounced: int
    delivery_rate: float
    failure_rate: float
    bounce_rate: float
    latency: Latency
    cost: Cost


class ProviderPerformance(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    provider: str
    sent: int
    delivered: int
    failed: int
    bounced: int
    delivery_rate: float
    failure_rate: float
    latency: Latency
    cost: Cost
    score: float


class ErrorCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    provider: str
    error_code: str
    count: int


class ChannelsPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime
    sent: int
    delivered: int
    failed: int
    p95_ms: float | None


class ChannelsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                   omit_defaults=True):
    time_range: TimeRange
    by_channel: list[ChannelPerformance]
    providers: list[ProviderPerformance]
    errors: list[ErrorCount]
    time_series: list[ChannelsPoint]
    comparison: ChannelsData | None = None
    change: dict[str, float | None] | None = None


OUTCOMES = ("sent", "delivered", "failed", "bounced", "message_events")
LATENCY = ("samples", "duration_sum", "latency")
COST = ("cost", "costed")


SCORE, P95 = CATALOGUE["providerScore"], CATALOGUE["p95DeliveryMs"]


def latency(v: Values) -> Latency:
    """Samples, the exact mean and the sketch's percentiles of delivery durations."""
    return Latency(**metric_values(v, samples="latencySamples", avg_ms="avgDeliveryMs",
                                   p50_ms="p50DeliveryMs", p95_ms="p95DeliveryMs",
                                   p99_ms="p99DeliveryMs"))


def cost(v: Values) -> Cost:
    return Cost(**metric_values(v, total="totalCost", avg_cost_per_message="avgCostPerMessage"))


async def channels(engine: Engine, request: QueryRequest) -> ChannelsData:
    only = request.delivery_filters()
    totals, errors, series = await engine.run_all(
        request.query((*OUTCOMES, *LATENCY, *COST), ("channel",), ("channel", "provider"),
                      filters=only),
        request.query(("failed_or_bounced",), ("channel", "provider", "errorCode"),
                      filters=only),
        request.query(("sent", "delivered", "failed", "latency"), ("time",), filters=only))
    by_channel = [
        ChannelPerformance(
            channel=channel, sent=v["sent"], delivered=v["delivered"], failed=v["failed"],
            bounced=v["bounced"], latency=latency(v), cost=cost(v),
            **metric_values(v, delivery_rate="deliveryRate", failure_rate="failureRate",
                            bounce_rate="bounceRate"))
        for (channel,), v in totals.by(("channel",)).items() if v["message_events"]]
    by_channel.sort(key=lambda row: (-row.sent, row.channel))
    ranked = sorted(
        ((-SCORE.order_value(v), channel, provider, v)
         for (channel, provider), v in totals.by(("channel", "provider")).items()
         if v["message_events"]), key=lambda t: t[:3])
    providers = [
        ProviderPerformance(
            channel=channel, provider=provider, sent=v["sent"], delivered=v["delivered"],
            failed=v["failed"], bounced=v["bounced"], latency=latency(v), cost=cost(v),
            score=SCORE.value(v), **metric_values(v, delivery_rate="deliveryRate",
                                                  failure_rate="failureRate"))
        for _, channel, provider, v in ranked]
    codes = sorted(
        ((-v["failed_or_bounced"], channel, provider, code)
         for (channel, provider, code), v in errors.by(("channel", "provider", "errorCode")).items()
         if code is not None and v["failed_or_bounced"]))[: request.limit]
    return ChannelsData(
        time_range=TimeRange.of(request.window),
        by_channel=by_channel,
        providers=providers,
        errors=[ErrorCount(channel=channel, provider=provider, error_code=code, count=-n)
                for n, channel, provider, code in codes],
        time_series=[
            ChannelsPoint(timestamp=start, sent=v["sent"], delivered=v["delivered"],
                          failed=v["failed"], p95_ms=P95.value(v))
            for start, v in series.series()],
    )
