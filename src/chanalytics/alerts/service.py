"""The evaluator: every minute, every rule and detector, under a lease, in one process.

`run` steps two `LeaderLoop`s (`coordination/leader.py`, the scheduled reports' loop):
one evaluates while its process holds the evaluation lease (a `KvLease` across
processes, a `LocalLock` in one), the other sends pending deliveries while it holds the
dispatch lease (`notify.py`). Each round reads the alerts still firing and the rules
afresh (so a process that takes over sees its predecessor's changes), evaluates, and
records the state changes with their pending deliveries — fenced by the lease's
`ensure_held()` right before the write, so a holder that stalled past its lease records
nothing.

`evaluate(now)`, `detect_anomalies(now)` and `dispatch()` take the lock themselves for a
single round: `now` is injectable, so tests walk through hours and days in milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from chanalytics.alerts.detectors import (
    anomaly_observations,
    budget_observations,
    completed_hour,
)
from chanalytics.alerts.evaluate import Owned, Reading, evaluate
from chanalytics.alerts.health import IngestHealth
from chanalytics.alerts.lifecycle import Observation, changes, outgoing
from chanalytics.alerts.model import Alert
from chanalytics.alerts.notify import Dispatcher, Publisher
from chanalytics.alerts.store import AlertStore
from chanalytics.budgets import BudgetStore
from chanalytics.coordination.leader import Fence, LeaderLoop
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
                 lag: PipelineLag | None = None, health: IngestHealth | None = None,
                 metrics: ApiMetrics | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store, self.engine, self.budgets = store, engine, budgets
        self.evaluate_lock, self.dispatch_lock = evaluate_lock, dispatch_lock
        self.dispatcher, self.tenants = dispatcher, tenants
        self.lag, self.health = lag, health
        self.metrics, self.clock = metrics, clock
        self._anomaly_hour: datetime | None = None  # the last completed hour judged

    async def evaluate(self, now: datetime | None = None) -> list[Alert]:
        """One round at `now` of the rules, budgets and ingest health under the evaluation
        lock: the state changes recorded (their deliveries pending)."""
        async with self.evaluate_lock:
            return await self._evaluate(self.evaluate_lock.ensure_held, now or self.clock())

    async def _evaluate(self, fence: Fence, now: datetime) -> list[Alert]:
        started = time.perf_counter()
        rules = await self.store.rules()
        firing = {(a.tenant_id, a.condition): a for a in await self.store.firing()}
        observed = await self._observe(rules, set(firing), now)
        seen = {(o.tenant_id, o.condition) for o in observed}
        live_rules = {(t, r.id) for t, r in rules}
        gone = [a for key, a in firing.items()
                if (a.kind == "rule" and (a.tenant_id, a.condition) not in live_rules)
                or (a.kind == "budget" and key not in seen)]
        rows = await self._record(changes(observed, firing, now, absent_resolve=gone), now,
                                  fence)
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
        if self.health is not None:
            health = await self.health.observe(now)
            observed += health
            for o in health:
                if self.metrics is not None and o.holds is not None:
                    self.metrics.ingest_alerts_firing[o.condition].set(1 if o.holds else 0)
        return observed

    async def _record(self, rows: list[Alert], now: datetime, fence: Fence) -> list[Alert]:
        if rows:
            await fence()
            await self.store.record(rows, [outgoing(a, now) for a in rows])
        return rows

    async def detect_anomalies(self, now: datetime | None = None) -> list[Alert]:
        """The delivery-rate anomaly detector for the last completed UTC hour, once per
        hour in this process (again after a restart: judging an hour twice changes
        nothing), under the evaluation lock. Apart from `evaluate`: it reads 7 days of
        every tenant's channels by hour, a longer read than a minute's round should wait
        for."""
        now = now or self.clock()
        if completed_hour(now) == self._anomaly_hour:
            return []
        async with self.evaluate_lock:
            return await self._detect_anomalies(self.evaluate_lock.ensure_held, now)

    async def _detect_anomalies(self, fence: Fence, now: datetime) -> list[Alert]:
        hour = completed_hour(now)
        if hour == self._anomaly_hour:
            return []
        started = time.perf_counter()
        firing = {(a.tenant_id, a.condition): a for a in await self.store.firing()
                  if a.kind == "anomaly"}
        tenants = {*self.tenants(), *(t for t, _ in await self.store.rules()),
                   *await self.budgets.all()}
        observed = await anomaly_observations(self.engine, tenants, now)
        rows = await self._record(changes(observed, firing, now), now, fence)
        self._anomaly_hour = hour
        log.info("alerts.anomalies.evaluated", tenants=len(tenants), channels=len(observed),
                 changes=len(rows), duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return rows

    async def step(self, fence: Fence) -> None:
        """What the evaluation loop runs every minute while it holds the lease: the rules'
        round, then the hourly detector."""
        await self._evaluate(fence, self.clock())
        await self._detect_anomalies(fence, self.clock())

    async def dispatch(self) -> int:
        """Send every pending delivery (once across processes)."""
        async with self.dispatch_lock:
            return await self.dispatcher.send_pending()

    async def _send(self, _: Fence) -> int:
        return await self.dispatcher.send_pending()

    async def run(self, every: float = EVALUATE_EVERY, dispatch_every: float = DISPATCH_EVERY,
                  ) -> None:
        """Until cancelled: evaluate every `every` seconds while this process holds the
        evaluation lease, and dispatch every `dispatch_every` while it holds the dispatch
        lease (`coordination/leader.py`; the two may be held by different processes). A
        failed step is logged and the next one tries again."""
        loops = (LeaderLoop(self.evaluate_lock, self.step, interval=every,
                            name="alerts-evaluate"),
                 LeaderLoop(self.dispatch_lock, self._send, interval=dispatch_every,
                            name="alerts-dispatch"))
        await asyncio.gather(*(loop.run() for loop in loops))
