"""`GET /deliverability`: bounces, complaints, unsubscribes and failures, in total and per
channel, the bounce reasons, a series, and the contacts suppressed by the range's end
(`docs/delivery.md`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.suppressions import suppressed_contacts

Values = Mapping[str, Any]
COUNTS = ("sent", "delivered", "failed", "bounced", "hard_bounced", "soft_bounced",
          "complained", "unsubscribed", "message_events")


class Deliverability(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sent: int
    delivered: int
    failed: int
    bounced: int
    hard_bounced: int
    soft_bounced: int
    complained: int
    unsubscribed: int
    delivery_rate: float
    failure_rate: float
    bounce_rate: float
    hard_bounce_rate: float
    complaint_rate: float
    unsubscribe_rate: float


class DeliverabilitySummary(Deliverability, frozen=True, kw_only=True, rename="camel"):
    suppressed_contacts: int


class ChannelDeliverability(Deliverability, frozen=True, kw_only=True, rename="camel"):
    channel: str


class BounceReason(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    bounce_type: str
    error_code: str | None
    count: int


class DeliverabilityPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime
    bounced: int
    complained: int
    unsubscribed: int
    failed: int


class DeliverabilityData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                         omit_defaults=True):
    time_range: TimeRange
    summary: DeliverabilitySummary
    by_channel: list[ChannelDeliverability]
    bounce_reasons: list[BounceReason]
    time_series: list[DeliverabilityPoint]
    comparison: DeliverabilityData | None = None
    change: dict[str, float | None] | None = None


def _fields(v: Values) -> dict[str, Any]:
    return {
        "sent": v["sent"], "delivered": v["delivered"], "failed": v["failed"],
        "bounced": v["bounced"], "hard_bounced": v["hard_bounced"],
        "soft_bounced": v["soft_bounced"], "complained": v["complained"],
        "unsubscribed": v["unsubscribed"],
        **metric_values(v, delivery_rate="deliveryRate", failure_rate="failureRate",
                        bounce_rate="bounceRate", hard_bounce_rate="hardBounceRate",
                        complaint_rate="complaintRate", unsubscribe_rate="unsubscribeRate"),
    }


async def deliverability(engine: Engine, request: QueryRequest) -> DeliverabilityData:
    only = request.channel_filter()
    (totals, reasons, series), suppressed = await asyncio.gather(
        engine.run_all(
            request.query(COUNTS, (), ("channel",), filters=only),
            request.query(("bounced",), ("bounceType", "errorCode"), filters=only),
            request.query(("bounced", "complained", "unsubscribed", "failed"), ("time",),
                          filters=only)),
        suppressed_contacts(engine, request.tenant_id, request.window.end, request.channel))
    channels = [ChannelDeliverability(channel=channel, **_fields(v))
                for (channel,), v in totals.by(("channel",)).items() if v["message_events"]]
    channels.sort(key=lambda row: (-row.sent, row.channel))
    # Nulls first among equal counts: "" sorts before every code.
    ranked = sorted(((-v["bounced"], kind, code or "", code)
                     for (kind, code), v in reasons.by(("bounceType", "errorCode")).items()
                     if kind is not None and v["bounced"]))[: request.limit]
    return DeliverabilityData(
        time_range=TimeRange.of(request.window),
        summary=DeliverabilitySummary(suppressed_contacts=suppressed, **_fields(totals.total())),
        by_channel=channels,
        bounce_reasons=[BounceReason(bounce_type=kind, error_code=code, count=-n)
                        for n, kind, _, code in ranked],
        time_series=[DeliverabilityPoint(
            timestamp=start, bounced=v["bounced"], complained=v["complained"],
            unsubscribed=v["unsubscribed"], failed=v["failed"]) for start, v in series.series()],
    )
