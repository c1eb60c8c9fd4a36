"""The report scheduler: every tick of every report run once, by one process.

It is a step run every second by the one API process that holds the scheduler's lease
(`coordination/leader.py`). A step:

1. claims the due tick of each report: the latest tick after the last one claimed (or
   after the report was last saved) that is not in the future. Ticks missed while no
   process ran are therefore one run, when a process next runs. A claim is the run's
   first row, written right after the lease is proven held (`fence`); its id is derived
   from the report and the tick (`runner.tick_run_id`), so a claim made twice (a holder
   that stalled past its lease) is the same run, not a second one;
2. starts every run still `running` that this process is not running: the claims just
   made, "run now" requests (`POST /reports/{id}/run` writes a run and leaves it to the
   scheduler), and runs whose runner stopped mid-way (a restart, a crash), which resume
   where they were recorded (`runner.py`).

Runs go on in the background, a few at once, so a slow webhook never delays other ticks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime

import structlog

from chanalytics.coordination.lease import LeaseLost
from chanalytics.reports.runner import ReportRunner, new_run, tick_run_id
from chanalytics.reports.schedule import Schedule
from chanalytics.reports.store import ReportStore, RunRecord, StoredReport

log = structlog.get_logger(__name__)

INTERVAL = 1.0  # seconds between steps: how late a tick or a "run now" starts, at most
CONCURRENT_RUNS = 4
Fence = Callable[[], Awaitable[None]]


def next_run_at(report: StoredReport, last_tick: datetime | None) -> datetime:
    """The next tick the scheduler will run (in the past when it is overdue)."""
    after = report.updated_at if last_tick is None else max(last_tick, report.updated_at)
    return Schedule(report.body.schedule).next_after(after)


class ReportScheduler:
    def __init__(self, store: ReportStore, runner: ReportRunner, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 concurrent: int = CONCURRENT_RUNS) -> None:
        self.store, self.runner, self.clock = store, runner, clock
        self._slots = asyncio.Semaphore(concurrent)
        self._running: dict[str, asyncio.Task[None]] = {}

    async def step(self, fence: Fence) -> list[str]:
        """Claim the due ticks and start the runs to run; the ids of the runs started."""
        now = self.clock()
        last = await self.store.last_ticks()
        for report in await self.store.every_report():
            key = (report.tenant_id, report.report_id)
            after = max(last[key], report.updated_at) if key in last else report.updated_at
            try:
                tick = Schedule(report.body.schedule).latest_due(after, now)
            except Exception as exc:  # a stored schedule this version cannot read
                log.error("reports.schedule.unreadable", tenant_id=report.tenant_id,
                          report=report.report_id, error=repr(exc))
                continue
            if tick is None:
                continue
            run = new_run(report.tenant_id, report.report_id, report.body,
                          tick_run_id(report.tenant_id, report.report_id, tick),
                          scheduled=True, scheduled_for=tick, now=now)
            await fence()
            await self.store.write_run(run)
            log.info("reports.tick.claimed", tenant_id=report.tenant_id,
                     report=report.report_id, run=run.run_id, scheduled_for=tick.isoformat())
        started = []
        for run in await self.store.unfinished_runs():
            if run.run_id not in self._running:
                self._start(run, fence)
                started.append(run.run_id)
        return started

    def _start(self, run: RunRecord, fence: Fence) -> None:
        task = asyncio.create_task(self._run(run, fence), name=f"report-run-{run.run_id}")
        self._running[run.run_id] = task
        task.add_done_callback(lambda _: self._running.pop(run.run_id, None))

    async def _run(self, run: RunRecord, fence: Fence) -> None:
        async with self._slots:
            try:
                await self.runner.execute(run, fence)
            except LeaseLost:  # the new holder takes the run over where it was recorded
                log.warning("reports.run.abandoned", run=run.run_id, reason="lease lost")
            except Exception as exc:  # left `running`: the next step tries again
                log.error("reports.run.crashed", tenant_id=run.tenant_id,
                          report=run.report_id, run=run.run_id, error=repr(exc))
                await asyncio.sleep(INTERVAL)

    async def drain(self) -> None:
        """Wait for the runs started so far (tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the runs in flight: each stays `running`, for the next holder."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
