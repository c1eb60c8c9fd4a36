"""Periodic ingest jobs: consumer gauges, freshness, and the drift check (`drift.py`)."""

from __future__ import annotations

import time
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chanalytics.ingest.drift import check_rollups
from chanalytics.metrics import Metrics
from chanalytics.storage import Storage

log = structlog.get_logger(__name__)

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
