"""Periodic ingest jobs: consumer gauges and lag, and the drift check (`drift.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.drift import TABLES, check_rollups
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)

GAUGE_SECONDS = 5
# The first drift check runs this soon after start, not an hour later: a process that
# restarts more often than hourly would otherwise never check at all.
FIRST_DRIFT_CHECK_SECONDS = 60


async def update_consumer_gauges(js: Any, stream: str, consumer: str, metrics: Metrics) -> None:
    """Pending counts from the consumer's info, and the lag: how long the oldest message
    not yet stored (the first after the ack floor; ingest acks only what it stored) has
    been in the stream. Two small requests, every few seconds."""
    try:
        info = await js.consumer_info(stream, consumer)
    except Exception as exc:  # gauges are best-effort; a NATS outage is logged elsewhere
        log.debug("ingest.consumer_info.failed", error=repr(exc))
        return
    pending, ack_pending = info.num_pending or 0, info.num_ack_pending or 0
    metrics.consumer_pending.set(pending)
    metrics.consumer_ack_pending.set(ack_pending)
    if not pending and not ack_pending:
        metrics.lag.set(0)
        return
    floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
    try:
        # `next`: the first message at or after floor + 1 (one may have been deleted).
        oldest = await js.get_msg(stream, seq=floor + 1, subject=">", next=True)
    except Exception as exc:  # e.g. an account not allowed to read messages directly
        log.debug("ingest.lag.failed", error=repr(exc))
        return
    if oldest.time is not None:
        metrics.lag.set(max(0.0, metrics.clock() - oldest.time.timestamp()))


def build_scheduler(
    storage: Storage, metrics: Metrics, js: Any, stream: str, consumer: str,
) -> AsyncIOScheduler:
    metrics.expose_drift([t.name for t in TABLES])
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(update_consumer_gauges, "interval", seconds=GAUGE_SECONDS,
                      args=[js, stream, consumer, metrics], max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(check_rollups, "interval", hours=1, args=[storage, metrics],
                      max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC) + timedelta(
                          seconds=FIRST_DRIFT_CHECK_SECONDS))
    return scheduler
