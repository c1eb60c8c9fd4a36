"""The built-in detectors (no rule needed), each a list of `Observation`s at `now`.

- budget: per tenant with a budget, the share of its monthly budget spent this local
  month (`percentUsed`'s exact value); a condition per threshold and month
  (`budget:2026-12:75`) that, once reached, holds until the month ends, so each threshold
  fires once a month.
- anomaly: per tenant and channel, the last completed UTC hour's delivery rate against
  the mean - 2 stddev of the previous 7 days' hourly rates (hours with at least
  `MIN_VOLUME` sent; at least `MIN_HOURS` of them); one query for every tenant.
- ingest health (service-wide, read by `health.py`), three conditions judged apart:
  `ingest:lag`, the consumer's lag against `CHANALYTICS_ALERT_LAG_SECONDS`;
  `ingest:freshness`, events waiting while nothing was stored for longer than that;
  `ingest:drift`, the latest drift check's disagreements.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import msgspec

from chanalytics.alerts.lifecycle import Observation
from chanalytics.alerts.model import SYSTEM
from chanalytics.budgets import Budget, month_bounds
from chanalytics.ingest.drift_checks import DriftCheck
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.metrics import CATALOGUE
from chanalytics.query.model import Query

THRESHOLDS = (75, 90, 100)
MIN_VOLUME = 20
MIN_HOURS = 24
HISTORY = timedelta(days=7)
_HOUR = timedelta(hours=1)
_UTC = ZoneInfo("UTC")


def _window(start: datetime, end: datetime) -> TimeWindow:
    return TimeWindow(start=start, end=end, tz=_UTC, tz_name="UTC")


async def budget_observations(engine: Engine, budgets: Mapping[str, Budget],
                              firing: Collection[tuple[str, str]], now: datetime,
                              ) -> list[Observation]:
    """Each budgeted tenant's thresholds this month; one query per distinct month start."""
    months: dict[datetime, list[tuple[str, str]]] = {}
    for tenant, budget in budgets.items():
        start, _, label = month_bounds(now, budget.timezone)
        months.setdefault(start, []).append((tenant, label))
    used_metric = CATALOGUE["percentUsed"]
    out = []
    for start, owned in months.items():
        tenants = tuple(sorted(t for t, _ in owned))
        result = await engine.run(Query(tenant_id=tenants[0], tenants=tenants,
                                        window=_window(start, now), measures=("cost",),
                                        groupings=(("tenant",),)))
        spent = result.by_one("tenant")
        for tenant, label in owned:
            cost = spent.get(tenant, result.zeros)["cost"]
            values = {"cost": cost, "monthly_budget": Decimal(repr(budgets[tenant].monthly_budget))}
            used: Fraction = used_metric.order_value(values)
            shown = used_metric.value(values)
            for threshold in THRESHOLDS:
                condition = f"budget:{label}:{threshold}"
                out.append(Observation(
                    tenant_id=tenant, kind="budget", condition=condition,
                    holds=used >= threshold or (tenant, condition) in firing,
                    metric="percentUsed", value=shown, threshold=float(threshold),
                    message=f"{threshold}% of the monthly budget reached in {label}: "
                            f"{shown}% spent ({cost} of {budgets[tenant].monthly_budget})"))
    return out


def completed_hour(now: datetime) -> datetime:
    """The start of the last completed UTC hour at `now`."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - _HOUR


async def anomaly_observations(engine: Engine, tenants: Collection[str], now: datetime,
                               ) -> list[Observation]:
    """Every tenant's channels for the last completed UTC hour (one query)."""
    if not tenants:
        return []
    hour = completed_hour(now)
    chosen = tuple(sorted(tenants))
    result = await engine.run(Query(
        tenant_id=chosen[0], tenants=chosen, window=_window(hour - HISTORY, hour + _HOUR),
        measures=("sent", "delivered"), groupings=(("tenant", "channel", "time"),),
        granularity=Granularity.HOUR))
    rate = CATALOGUE["deliveryRate"]
    series: dict[tuple[str, str], dict[int, Mapping[str, object]]] = {}
    for row in result.rows(("tenant", "channel", "time")):
        tenant, channel, start = row.key
        if channel is not None:
            series.setdefault((tenant, channel), {})[int(start)] = row.values
    out = []
    for (tenant, channel), hours in sorted(series.items()):
        def percent(values: Mapping[str, object]) -> float:
            return float(rate.order_value(values)) * 100

        history = [percent(v) for start, v in hours.items()
                   if start < int(hour.timestamp()) and int(str(v["sent"])) >= MIN_VOLUME]
        current = hours.get(int(hour.timestamp()))
        condition = f"anomaly:{channel}"
        base = Observation(tenant_id=tenant, kind="anomaly", condition=condition,
                           metric="deliveryRate", channel=channel, holds=None,
                           message="not enough volume")
        if len(history) < MIN_HOURS or current is None or int(str(current["sent"])) < MIN_VOLUME:
            out.append(base)
            continue
        mean, spread = statistics.fmean(history), statistics.pstdev(history)
        floor = mean - 2 * spread
        actual = percent(current)
        details = {"expected": round(mean, 2), "actual": round(actual, 2),
                   "deviation": round(actual - mean, 2), "hour": hour.isoformat()}
        out.append(msgspec.structs.replace(
            base, holds=actual < floor, value=round(actual, 2), threshold=round(floor, 2),
            details=details,
            message=f"{channel} delivery rate {actual:.2f}% in the hour from "
                    f"{hour:%Y-%m-%d %H:00} UTC, expected {mean:.2f}% (floor {floor:.2f}%)"))
    return out


def ingest_observation(lag_seconds: float | None, limit: float) -> Observation:
    """The service-wide ingest health: lag above `limit` seconds fires."""
    return Observation(
        tenant_id=SYSTEM, kind="ingest", condition="ingest:lag",
        holds=None if lag_seconds is None else lag_seconds > limit,
        metric="ingestLagSeconds", value=lag_seconds, threshold=limit,
        message="ingest lag unknown" if lag_seconds is None else
        f"ingest is {lag_seconds:.1f} s behind (limit {limit:g} s)")


def freshness_observation(now: datetime, newest: datetime | None,
                          models: Mapping[str, datetime | None], lag_seconds: float | None,
                          limit: float) -> Observation:
    """Ingest stalled: for more than `limit` seconds events have waited (the lag) *and*
    nothing was stored (`newest`: the newest insert into the raw table or a read model).

    Either alone is no fault of freshness: with no traffic nothing is stored; a lag alone
    (one message retried while the rest are stored) is `ingest:lag`'s. Taking both keeps
    a burst after a quiet hour from firing it. Unknown while NATS cannot tell the lag."""
    staleness = None if newest is None else max(0.0, (now - newest).total_seconds())
    details = {"lagSeconds": lag_seconds, "readModels": {
        table: None if at is None else round(max(0.0, (now - at).total_seconds()), 1)
        for table, at in models.items()}}
    base = Observation(tenant_id=SYSTEM, kind="ingest", condition="ingest:freshness",
                       holds=None, metric="ingestFreshnessSeconds", value=staleness,
                       threshold=limit, details=details, message="ingest freshness unknown")
    if lag_seconds is None:
        return base
    stalled = lag_seconds if staleness is None else min(staleness, lag_seconds)
    stored = "nothing stored yet" if staleness is None else \
        f"nothing stored for {staleness:.1f} s"
    return msgspec.structs.replace(
        base, holds=stalled > limit,
        message=f"{stored} while events have waited {lag_seconds:.1f} s (limit {limit:g} s)")


def drift_observation(check: DriftCheck | None) -> Observation:
    """The latest drift check: holds while it found a derived table disagreeing with the
    raw table; unknown before the first check."""
    base = Observation(tenant_id=SYSTEM, kind="ingest", condition="ingest:drift", holds=None,
                       metric="rollupDriftPeriods", threshold=0.0,
                       message="no drift check recorded yet")
    if check is None:
        return base
    at = check.checked_at.strftime("%Y-%m-%d %H:%M UTC")
    message = (f"the drift check of {at} found {check.drifting} period(s) disagreeing with "
               f"the raw table in {', '.join(check.tables)}" if check.drifting else
               f"the drift check of {at} found every derived table in agreement")
    return msgspec.structs.replace(
        base, holds=check.drifting > 0, value=float(check.drifting), message=message,
        details={"checkedAt": check.checked_at.isoformat(), "tables": check.tables,
                 "findings": check.findings})
