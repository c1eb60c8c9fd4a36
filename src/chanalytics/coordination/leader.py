"""Work that one process of many does: a step run every few seconds by whichever process
holds a lease (`lease.py`: `KvLease` across processes, `LocalLock` in one).

The scheduled reports use it, and so do the alerts (evaluation and dispatch: two loops,
two leases): each has a key of its own in the lease bucket. The other processes wait for
the lease; when its holder dies, its key expires (the lease's TTL) and one of them takes
over. A step is handed the lease's `ensure_held` as its fence: it calls it right before
it claims work, so a holder that stalled and lost the lease claims nothing (`LeaseLost`),
and then waits its turn again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Protocol

import structlog

from chanalytics.coordination.lease import LeaseLost

log = structlog.get_logger(__name__)

Fence = Callable[[], Awaitable[None]]


class Lease(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def ensure_held(self) -> None: ...


class LeaderLoop:
    """Runs `step(fence)` every `interval` seconds (from one step's start to the next's,
    so a slow step does not stretch the period) while this process holds `lease`."""

    def __init__(self, lease: Lease, step: Callable[[Fence], Awaitable[object]], *,
                 interval: float, name: str) -> None:
        self.lease, self.step, self.interval, self.name = lease, step, interval, name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"{self.name}-leader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Forever: wait for the lease, then step while it holds; a lost lease or a
        failed acquisition (NATS away) waits and tries again. Until cancelled, even when a
        library swallowed the cancellation (below)."""
        while True:
            _raise_if_cancelled()
            try:
                async with self.lease:
                    log.info("coordination.leader.acquired", job=self.name)
                    while True:
                        _raise_if_cancelled()
                        await self.lease.ensure_held()
                        started = time.monotonic()
                        try:
                            await self.step(self.lease.ensure_held)
                        except LeaseLost:
                            raise
                        except Exception as exc:  # the next step tries again
                            log.error("coordination.step.failed", job=self.name,
                                      error=repr(exc))
                        await asyncio.sleep(
                            max(0.0, self.interval - (time.monotonic() - started)))
            except LeaseLost as exc:
                log.warning("coordination.leader.lost", job=self.name, error=str(exc))
            except Exception as exc:
                log.warning("coordination.leader.unavailable", job=self.name, error=repr(exc))
                await asyncio.sleep(self.interval)


def _raise_if_cancelled() -> None:
    """Raise `CancelledError` if this task was asked to stop. On Python 3.11
    `asyncio.wait_for` (nats-py's requests use it) returns its result and drops the
    cancellation when the awaited call completes just as the task is cancelled; the
    request stays counted (`Task.cancelling()`), so the loop ends at its next turn
    instead of stepping forever (a test's `stop()` once waited for it until its timeout)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
