"""The daily export: with `CHANALYTICS_EXPORT_DIR` set, the previous UTC day at 00:30 UTC,
once however many processes run it, and any day missed meanwhile when the service next
runs.

The record of what is done is the export directory's own manifest (`days`): it is written
in the same place as the files, after them, so it cannot claim a day whose files are not
there, and a deployment of several processes shares it as it shares the files. Those
processes take a lock around "read the manifest, export what is due": the one that comes
second finds the day recorded and does nothing. An export is idempotent (the same bytes),
so even a lock lost mid-way costs work, not correctness.

The job runs at start (a day missed while no process ran) and then at minute 30 of every
hour: the previous day is due from 00:30 UTC on, and a run that failed is tried again an
hour later instead of a day later. A run with nothing due reads the manifest only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chanalytics.query.engine import Engine
from chanalytics.warehouse.feed import days_between, export_day, read_manifest

log = structlog.get_logger(__name__)

# A day is exported this long after it ends: events published at 23:59 have reached
# storage by then (ingest flushes within seconds; a backlog gets half an hour).
DELAY = timedelta(minutes=30)
DAILY_FORMAT = "ndjson"  # the seed's warehouse feed


class ExportLock(Protocol):
    """Held while a process decides what is due and exports it (`coordination/lease.py`'s
    `KvLease` across processes, `LocalLock` in one)."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(self, *exc: object) -> None: ...


def due_days(exported: list[str], now: datetime) -> list[date]:
    """The days to export at `now`: each day after the last one exported, through the
    last day that is due. With nothing exported yet, only the last due day: older days
    are the `export` command's (a new feed does not start with the whole history)."""
    latest = (now.astimezone(UTC) - DELAY).date() - timedelta(days=1)
    if not exported:
        return [latest]
    return days_between(date.fromisoformat(max(exported)) + timedelta(days=1), latest)


class DailyExport:
    def __init__(self, engine: Engine, directory: Path, lock: ExportLock, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 fmt: str = DAILY_FORMAT) -> None:
        self.engine, self.directory, self.lock = engine, directory, lock
        self.clock, self.fmt = clock, fmt

    async def run_due(self) -> list[date]:
        """Export every day due that the manifest does not yet record; the days done."""
        async with self.lock:
            manifest = await asyncio.to_thread(read_manifest, self.directory)
            days = due_days(manifest.days.get(self.fmt, []), self.clock())
            for day in days:
                await export_day(self.engine, self.directory, day, self.fmt)
        return days

    async def run_logged(self) -> None:
        """`run_due` for the scheduler: a failure is logged and the next run retries it."""
        try:
            days = await self.run_due()
        except Exception as exc:
            log.error("export.daily.failed", directory=str(self.directory), error=repr(exc))
            return
        if days:
            log.info("export.daily.done", days=[d.isoformat() for d in days],
                     directory=str(self.directory))

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Run now (a missed day) and at minute 30 of every hour (UTC)."""
        scheduler.add_job(self.run_logged, "cron", minute=30, timezone=UTC, max_instances=1,
                          coalesce=True, next_run_time=datetime.now(UTC))
