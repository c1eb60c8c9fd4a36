"""Periodic ingest jobs: consumer gauges, freshness, and a rollup-versus-raw check."""

from __future__ import annotations

import time
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chanalytics.metrics import Metrics
from chanalytics.storage import Storage, StorageError

log = structlog.get_logger(__name__)

# Per tenant and hour, the message rollup must hold exactly the raw table's counts.
DRIFT_SQL = """
SELECT r.tenant_id, r.hour, r.events, ifNull(m.events, 0)
FROM (
    SELECT tenant_id, toStartOfHour(occurred_at) AS hour, count() AS events
    FROM analytics_events
    WHERE entity_type = 'message' AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
    GROUP BY tenant_id, hour
) AS r
LEFT JOIN (
    SELECT tenant_id, toStartOfHour(bucket) AS hour, sum(events) AS events
    FROM message_counts_15m
    WHERE bucket >= toStartOfFifteenMinutes({since:DateTime64(3, 'UTC')})
      AND bucket < {until:DateTime64(3, 'UTC')}
    GROUP BY tenant_id, hour
) AS m ON r.tenant_id = m.tenant_id AND r.hour = m.hour
WHERE r.events != ifNull(m.events, 0)
"""


async def check_rollups(storage: Storage, metrics: Metrics, hours: int = 3) -> int:
    """Compare the last few whole hours of raw events with the rollup; count disagreeing hours."""
    until = (int(time.time()) // 3600) * 3600
    params = {"since": until - hours * 3600, "until": until}
    try:
        drift = await storage.query(DRIFT_SQL, params)
    except StorageError as exc:
        log.warning("ingest.rollup_check.failed", error=str(exc))
        return 0
    for tenant, hour, raw, rolled in drift:
        log.error("ingest.rollup.drift", tenant_id=tenant, hour=str(hour), raw=raw, rollup=rolled)
    metrics.rollup_drift.inc(len(drift))
    return len(drift)


async def update_consumer_gauges(js: Any, stream: str, consumer: str, metrics: Metrics) -> None:
    try:
        info = await js.consumer_info(stream, consumer)
    except Exception as exc:  # gauges are best-effort; a NATS outage is logged elsewhere
        log.debug("ingest.consumer_info.failed", error=repr(exc))
        return
    metrics.consumer_pending.set(info.num_pending or 0)
    metrics.consumer_ack_pending.set(info.num_ack_pending or 0)


def update_freshness(metrics: Metrics, newest_event: float) -> None:
    if newest_event > 0:
        metrics.freshness.set(max(0.0, time.time() - newest_event))


def build_scheduler(
    storage: Storage, metrics: Metrics, js: Any, stream: str, consumer: str,
    newest_event: Any,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(update_consumer_gauges, "interval", seconds=5,
                      args=[js, stream, consumer, metrics], max_instances=1, coalesce=True)
    scheduler.add_job(lambda: update_freshness(metrics, newest_event()), "interval", seconds=10,
                      max_instances=1, coalesce=True)
    scheduler.add_job(check_rollups, "interval", hours=1, args=[storage, metrics],
                      max_instances=1, coalesce=True)
    return scheduler
