"""`GET /realtime`: the last 5 minutes, the last hour and today, the campaigns running
now, and how fresh the numbers are (`docs/api.md#get-realtime`).

The request's window is today's, `[local midnight, now)`; the two short windows end at
the same `now`. `channel` filters the message numbers, not the campaigns (as in
`/campaigns`: lifecycle events are not filtered by channel) and not the freshness, which
is the tenant's and the service's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from chanalytics.localtime import utc_text
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.freshness import Newest, newest
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange

# The age of the oldest published message not yet stored, in seconds, or None when this
# process cannot ask NATS (`nats/lag.py`).
PipelineLag = Callable[[], Awaitable[float | None]]

WINDOW_MEASURES = ("sent", "delivered", "failed", "opened", "clicked", "contacts",
                   "duration_sum", "samples", "cost")
# Each window's fields, by catalogue name.
NUMBERS = {"sent": "sent", "delivered": "delivered", "failed": "failed", "opened": "opened",
           "clicked": "clicked", "unique_contacts": "uniqueContacts",
           "avg_delivery_ms": "avgDeliveryMs", "total_cost": "totalCost"}
LIFECYCLE = ("campaign_last_started", "campaign_last_completed")
# Where "any time before now" begins: before every event ClickHouse can store.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class WindowNumbers(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    sent: int
    delivered: int
    failed: int
    opened: int
    clicked: int
    unique_contacts: int
    avg_delivery_ms: float | None
    total_cost: float


class Freshness(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    newest_event_at: str | None
    newest_stored_at: str | None
    pipeline_lag_seconds: float | None


class RealtimeData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    last5_minutes: WindowNumbers
    last_hour: WindowNumbers
    today: WindowNumbers
    active_campaigns: int
    as_of: str
    freshness: Freshness


def _last(window: TimeWindow, length: timedelta) -> TimeWindow:
    return msgspec.structs.replace(window, start=window.end - length)


async def _no_lag() -> None:
    return None


async def realtime(engine: Engine, request: QueryRequest, *,
                   lag: PipelineLag | None = None) -> RealtimeData:
    """The three windows' numbers, the active campaigns, and the freshness, read at once."""
    today = request.window
    windows = (_last(today, timedelta(minutes=5)), _last(today, timedelta(hours=1)), today)
    only = request.channel_filter()
    ever = msgspec.structs.replace(today, start=EPOCH)
    queries = [msgspec.structs.replace(request, window=w).query(WINDOW_MEASURES, filters=only)
               for w in windows]
    lifecycle = msgspec.structs.replace(request, window=ever).query(LIFECYCLE, ("campaign",))
    results, stored, seconds = await asyncio.gather(
        engine.run_all(*queries, lifecycle), newest(engine, request.tenant_id),
        (lag or _no_lag)())
    *counts, campaigns = results

    def numbers(window: TimeWindow, totals: dict[str, object]) -> WindowNumbers:
        return WindowNumbers(time_range=TimeRange.of(window),
                             **metric_values(totals, **NUMBERS))

    last5, hour, day = (numbers(w, dict(r.total())) for w, r in zip(windows, counts,
                                                                      strict=True))
    return RealtimeData(
        last5_minutes=last5, last_hour=hour, today=day,
        active_campaigns=len(_running(campaigns.by_one("campaign").values())),
        as_of=utc_text(today.end),
        freshness=_freshness(stored, seconds),
    )


def _running(campaigns: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Campaigns whose newest start before now has no completion after it (a completion
    at the same instant ends it)."""
    return [v for v in campaigns if (started := v["campaign_last_started"]) is not None
            and ((ended := v["campaign_last_completed"]) is None or ended < started)]


def _freshness(stored: Newest, seconds: float | None) -> Freshness:
    return Freshness(
        newest_event_at=None if stored.event_at is None else utc_text(stored.event_at),
        newest_stored_at=None if stored.stored_at is None else utc_text(stored.stored_at),
        **metric_values({"lag_seconds": seconds}, pipeline_lag_seconds="pipelineLagSeconds"))
