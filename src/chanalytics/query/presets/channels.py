"""`GET /channels`: channel and provider performance — outcomes, latency percentiles, cost,
a composite score per provider, the commonest error codes and a series with p95 latency
(`docs/delivery.md`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import round_decimal
from chanalytics.query.rates import percent, ratio
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


def latency(v: Values) -> Latency:
    """Samples, the exact mean and the sketch's percentiles of delivery durations."""
    levels = v["latency"]
    if not v["samples"] or levels is None:
        return Latency(samples=0, avg_ms=None, p50_ms=None, p95_ms=None, p99_ms=None)
    p50, p95, p99 = (_ms(level) for level in levels)
    return Latency(samples=v["samples"], avg_ms=round_decimal(
        Fraction(v["duration_sum"], v["samples"]), 1), p50_ms=p50, p95_ms=p95, p99_ms=p99)


def cost(v: Values) -> Cost:
    total: Decimal = v["cost"]
    return Cost(total=round_decimal(total, 4), avg_cost_per_message=round_decimal(
        total / v["costed"], 6) if v["costed"] else None)


def score(v: Values) -> Fraction:
    """The seed's composite, from unrounded inputs: 0.4 delivery rate + 0.3 speed +
    0.2 price + 0.1 reliability (each 0-100)."""
    speed = (max(Fraction(0), 100 - Fraction(v["duration_sum"], v["samples"]) / 1000)
             if v["samples"] else Fraction(0))
    price = (max(Fraction(0), 100 - Fraction(v["cost"]) / v["costed"] * 10000)
             if v["costed"] else Fraction(0))
    reliability = 100 - ratio(v["failed"], v["sent"])
    return (Fraction(4, 10) * ratio(v["delivered"], v["sent"]) + Fraction(3, 10) * speed
            + Fraction(2, 10) * price + Fraction(1, 10) * reliability)


def _ms(level: float) -> float | None:
    return round_decimal(Decimal(repr(level)), 1)


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
            bounced=v["bounced"], delivery_rate=percent(v["delivered"], v["sent"]),
            failure_rate=percent(v["failed"], v["sent"]),
            bounce_rate=percent(v["bounced"], v["sent"]), latency=latency(v), cost=cost(v))
        for (channel,), v in totals.by(("channel",)).items() if v["message_events"]]
    by_channel.sort(key=lambda row: (-row.sent, row.channel))
    ranked = sorted(
        ((-score(v), channel, provider, v)
         for (channel, provider), v in totals.by(("channel", "provider")).items()
         if v["message_events"]), key=lambda t: t[:3])
    providers = [
        ProviderPerformance(
            channel=channel, provider=provider, sent=v["sent"], delivered=v["delivered"],
            failed=v["failed"], bounced=v["bounced"],
            delivery_rate=percent(v["delivered"], v["sent"]),
            failure_rate=percent(v["failed"], v["sent"]), latency=latency(v), cost=cost(v),
            score=round_decimal(-negative, 2))
        for negative, channel, provider, v in ranked]
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
                          failed=v["failed"], p95_ms=None if v["latency"] is None
                          else _ms(v["latency"][1]))
            for start, v in series.series()],
    )
