"""`GET /realtime` computed in plain Python from the contract (`API-REALTIME.md`), without
the engine: the windows' numbers, the running campaigns, the newest event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from oracle import Event


def _rounded(value: Decimal | Fraction, places: int) -> float:
    exact = (Decimal(value.numerator) / Decimal(value.denominator)
             if isinstance(value, Fraction) else value)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _text(instant: datetime) -> str:
    instant = instant.astimezone(UTC)
    spec = "milliseconds" if instant.microsecond else "seconds"
    return instant.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def local_midnight(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def window(events: list[Event], tenant: str, start: datetime, end: datetime,
           channel: str | None) -> dict[str, Any]:
    msgs = [e for e in events if e.tenant == tenant and e.type.startswith("message_")
            and start <= e.at < end and (channel is None or e.data.get("channel") == channel)]

    def of(kind: str) -> list[Event]:
        return [e for e in msgs if e.type == f"message_{kind}"]

    durations = [int(e.data["durationMs"]) for e in of("delivered")
                 if e.data.get("durationMs") is not None]
    cost = sum((Decimal(str(e.data["cost"])) for e in of("sent")
                if e.data.get("cost") is not None), Decimal(0))
    return {
        "timeRange": {"start": _text(start), "end": _text(end)},
        "sent": len(of("sent")), "delivered": len(of("delivered")), "failed": len(of("failed")),
        "opened": len({e.data["messageId"] for e in of("opened")}),
        "clicked": len({e.data["messageId"] for e in of("clicked")}),
        "uniqueContacts": len({e.data["contactId"] for e in msgs if e.data.get("contactId")}),
        "avgDeliveryMs": _rounded(Fraction(sum(durations), len(durations)), 1)
        if durations else None,
        "totalCost": _rounded(cost, 4),
    }


def active_campaigns(events: list[Event], tenant: str, now: datetime) -> int:
    """Campaigns with a start before now and no completion after it (one at the same
    instant ends it)."""
    ids = {e.data["campaignId"] for e in events if e.tenant == tenant
           and e.type == "campaign_started" and e.at < now}
    running = 0
    for cid in ids:
        own = [e for e in events if e.tenant == tenant and e.data.get("campaignId") == cid
               and e.at < now]
        started = max(e.at for e in own if e.type == "campaign_started")
        if not any(e.type == "campaign_completed" and e.at >= started for e in own):
            running += 1
    return running


def realtime(events: list[Event], tenant: str, now: datetime, zone: str = "UTC",
             channel: str | None = None) -> dict[str, Any]:
    """`data` of the answer, but for `freshness.newestStoredAt` and the lag."""
    own = [e for e in events if e.tenant == tenant]
    return {
        "last5Minutes": window(events, tenant, now - timedelta(minutes=5), now, channel),
        "lastHour": window(events, tenant, now - timedelta(hours=1), now, channel),
        "today": window(events, tenant, local_midnight(now, zone), now, channel),
        "activeCampaigns": active_campaigns(events, tenant, now),
        "asOf": _text(now),
        "newestEventAt": _text(max(e.at for e in own)) if own else None,
    }
