"""The evaluator: every minute, every rule and detector, under a lease, in one process.

A round takes the evaluation lock (a `KvLease` across processes, a `LocalLock` in one),
reads the alerts still firing and the rules *after* taking it (so a second process that
waited sees the first one's changes), evaluates, and records the state changes with
their pending deliveries — fenced by `ensure_held()` right before the write, so a holder
that stalled past its lease records nothing. The dispatcher sends pending deliveries
under a lock of its own (`notify.py`).

`now` is injectable (`evaluate(now)`), so tests walk through hours and days in
milliseconds; `run` is the loop `serve` and `run` start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from chanalytics.alerts.detectors import (
    anomaly_observations,
    budget_observations,
    completed_hour,
    ingest_observation,
)
from chanalytics.alerts.evaluate import Owned, Reading, evaluate
from chanalytics.alerts.lifecycle import Observation, changes, outgoing
from chanalytics.alerts.model import Alert
from chanalytics.alerts.notify import Dispatcher, Publisher
from chanalytics.alerts.store import AlertStore
from chanalytics.budgets import BudgetStore
from chanalytics.coordination.lease import InsertLock
from chanalytics.metrics import ApiMetrics
from chanalytics.query.engine import Engine
from chanalytics.query.presets.realtime import PipelineLag

log = structlog.get_logger(__name__)

EVALUATE_EVERY = 60.0
DISPATCH_EVERY = 5.0


def rule_observation(tenant: str, rule_id: str, reading: Reading, owned: Owned) -> Observation:
    rule = owned[1]
    if reading.value is None:
        text = f"{rule.name}: not evaluated ({reading.reason})"
    else:
        word = "holds" if rule.holds(reading.value) else "no longer holds"
        text = (f"{rule.name}: {rule.metric} = {reading.value:g} over {rule.window_minutes} "
                f"min; {rule.operator} {rule.threshold:g} {word}")
    return Observation(
        tenant_id=tenant, kind="rule", condition=rule_id, rule_id=rule_id,
        holds=None if reading.value is None else rule.holds(reading.value),
        metric=rule.metric, channel=rule.channel, provider=rule.provider,
        value=reading.value, threshold=rule.threshold, message=text)


@dataclass(frozen=True)
class AlertWiring:
    """What a process that evaluates alerts brings: its locks (`KvLease`s across
    processes, `LocalLock`s in one) and where state changes are published (None: no NATS)."""

    evaluate_lock: InsertLock
    dispatch_lock: InsertLock
    publisher: Publisher | None = None


class AlertService:
    def __init__(self, store: AlertStore, engine: Engine, budgets: BudgetStore, *,
                 evaluate_lock: InsertLock, dispatch_lock: InsertLock,
                 dispatcher: Dispatcher, tenants: Callable[[], Collection[str]] = frozenset,
                 lag: PipelineLag | None = None, lag_limit: float = 300.0,
                 metrics: ApiMetrics | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store, self.engine, self.budgets = store, engine, budgets
        self.evaluate_lock, self.dispatch_lock = evaluate_lock, dispatch_lock
        self.dispatcher, self.tenants = dispatcher, tenants
        self.lag, self.lag_limit = lag, lag_limit
        self.metrics, self.clock = metrics, clock
        self._anomaly_hour: datetime | None = None  # the last completed hour judged

    async def evaluate(self, now: datetime | None = None) -> list[Alert]:
        """One round at `now` of the rules, budgets and ingest health: the state changes
        recorded (their deliveries pending)."""
        now = now or self.clock()
        started = time.perf_counter()
        async with self.evaluate_lock:
            rules = await self.store.rules()
            firing = {(a.tenant_id, a.condition): a for a in await self.store.firing()}
            observed = await self._observe(rules, set(firing), now)
            seen = {(o.tenant_id, o.condition) for o in observed}
            live_rules = {(t, r.id) for t, r in rules}
            gone = [a for key, a in firing.items()
                    if (a.kind == "rule" and (a.tenant_id, a.condition) not in live_rules)
                    or (a.kind == "budget" and key not in seen)]
            rows = await self._record(changes(observed, firing, now, absent_resolve=gone), now)
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.alert_round_seconds.observe(seconds)
        # Info only when something changed: a quiet minute is not news.
        say = log.info if rows else log.debug
        say("alerts.round.evaluated", rules=len(rules), conditions=len(observed),
            changes=len(rows), duration_ms=round(seconds * 1000, 1))
        return rows

    async def _observe(self, rules: Sequence[Owned], firing: Collection[tuple[str, str]],
                       now: datetime) -> list[Observation]:
        readings = await evaluate(self.engine, rules, now, self.lag)
        by_id = {(t, r.id): (t, r) for t, r in rules}
        observed = [rule_observation(t, rule_id, reading, by_id[(t, rule_id)])
                    for (t, rule_id), reading in readings.items()]
        budgets = await self.budgets.all()
        observed += await budget_observations(self.engine, budgets, firing, now)
        if self.lag is not None:
            health = ingest_observation(await self.lag(), self.lag_limit)
            observed.append(health)
            if self.metrics is not None and health.holds is not None:
                self.metrics.ingest_alert_firing.set(1 if health.holds else 0)
        return observed

    async def _record(self, rows: list[Alert], now: datetime) -> list[Alert]:
        if rows:
            await self.evaluate_lock.ensure_held()
            await self.store.record(rows, [outgoing(a, now) for a in rows])
        return rows

    async def detect_anomalies(self, now: datetime | None = None) -> list[Alert]:
        """The delivery-rate anomaly detector for the last completed UTC hour, once per
        hour in this process (again after a restart: judging an hour twice changes
        nothing). Apart from `evaluate`: it reads 7 days of every tenant's channels by
        hour, a longer read than a minute's round should wait for."""
        now = now or self.clock()
        hour = completed_hour(now)
        if hour == self._anomaly_hour:
            return []
        started = time.perf_counter()
        async with self.evaluate_lock:
            firing = {(a.tenant_id, a.condition): a for a in await self.store.firing()
                      if a.kind == "anomaly"}
            tenants = {*self.tenants(), *(t for t, _ in await self.store.rules()),
                       *await self.budgets.all()}
            observed = await anomaly_observations(self.engine, tenants, now)
            rows = await self._record(changes(observed, firing, now), now)
        self._anomaly_hour = hour
        log.info("alerts.anomalies.evaluated", tenants=len(tenants), channels=len(observed),
                 changes=len(rows), duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return rows

    async def round(self) -> None:
        """What the loop runs every minute: the rules' round, then the hourly detector."""
        await self.evaluate()
        await self.detect_anomalies()

    async def dispatch(self) -> int:
        """Send every pending delivery (once across processes)."""
        async with self.dispatch_lock:
            return await self.dispatcher.send_pending()

    async def run(self, every: float = EVALUATE_EVERY, dispatch_every: float = DISPATCH_EVERY,
                  ) -> None:
        """Evaluate every `every` seconds and dispatch every `dispatch_every`, until
        cancelled; a failed round is logged and the next one tries again."""
        sending = asyncio.create_task(self._loop(self.dispatch, dispatch_every, "dispatch"))
        try:
            await self._loop(self.round, every, "evaluate")
        finally:
            sending.cancel()
            with suppress(asyncio.CancelledError):
                await sending

    async def _loop(self, job: Callable[[], object], every: float, name: str) -> None:
        while True:
            started = time.monotonic()
            try:
                await job()  # type: ignore[misc]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(f"alerts.{name}.failed", error=repr(exc))
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
