"""Periodic ingest jobs: consumer gauges and lag, and the drift check (`drift.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.drift import TABLES, check_rollups
from chanalytics.ingest.readmodels import update_read_model_gauges
from chanalytics.metrics import Metrics
from chanalytics.nats.lag import consumer_lag

log = structlog.get_logger(__name__)

GAUGE_SECONDS = 5
READ_MODEL_SECONDS = 30
# The first drift check runs this soon after start, not an hour later: a process that
# restarts more often than hourly would otherwise never check at all.
FIRST_DRIFT_CHECK_SECONDS = 60


async def update_consumer_gauges(js: Any, stream: str, consumer: str, metrics: Metrics) -> None:
    """Pending counts and the lag (`nats/lag.py`) into the gauges; a reading NATS does not
    give leaves its gauge as it was. Two small requests, every few seconds."""
    lag = await consumer_lag(js, stream, consumer, metrics.clock())
    if lag is None:
        return
    metrics.consumer_pending.set(lag.pending)
    metrics.consumer_ack_pending.set(lag.ack_pending)
    if lag.seconds is not None:
        metrics.lag.set(lag.seconds)


def build_scheduler(
    storage: Storage, metrics: Metrics, js: Any, stream: str, consumer: str,
) -> AsyncIOScheduler:
    metrics.expose_drift([t.name for t in TABLES])
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(update_consumer_gauges, "interval", seconds=GAUGE_SECONDS,
                      args=[js, stream, consumer, metrics], max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(update_read_model_gauges, "interval", seconds=READ_MODEL_SECONDS,
                      args=[storage, metrics, {}], max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(check_rollups, "interval", hours=1, args=[storage, metrics],
                      max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC) + timedelta(
                          seconds=FIRST_DRIFT_CHECK_SECONDS))
    return scheduler
