"""The drift check: every rollup and key table must agree with the raw table it derives from.

Views fire on every insert into `analytics_events`, and the writer's recovery finishes a
batch a crash left in some views only, so a disagreement means a bug or a hand-made
change. Each derived table is described here independently of its view (the view's DDL
is in `clickhouse/schema/`): what a raw event contributes, and how to add the table's
rows up to the same number. The check compares both per tenant and period for recent
whole periods — hours for 15-minute tables, the previous UTC day for daily ones — and
reports each disagreement in the logs and in `chanalytics_rollup_drift{table=…}` (0 for
every table until one is found). It runs a minute after ingest starts, then hourly
(`jobs.py`); `chanalytics_rollup_check_timestamp_seconds` says when it last completed,
and each result is kept in `rollup_checks` (`drift_checks.py`) for the ingest-health alert.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from chanalytics.clickhouse.storage import Storage, StorageError
from chanalytics.ingest.drift_checks import Finding, record_check
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)

_MESSAGES = "entity_type = 'message'"
_LIFECYCLE = "entity_type IN ('campaign', 'workflow', 'sequence')"
# The key rows one raw event makes (the views of distinct_keys_15m / _1d).
_KEY_ROWS = """(
    SELECT tenant_id, occurred_at, pair.1 AS kind, event_type, channel, campaign_id,
           template_id, sequence_id, step_number, machine_open,
           sipHash64(pair.2) AS key
    FROM analytics_events
    ARRAY JOIN arrayConcat(
        if(event_type IN ('message_opened', 'message_clicked'), [('message', entity_id)], []),
        if(event_type IN ('message_sent', 'message_opened', 'message_clicked')
           AND contact_id != '', [('contact', contact_id)], []),
        if(event_type = 'sequence_enrollment_replied', [('enrollment', entity_id)], [])
    ) AS pair
    WHERE event_type IN ('message_sent', 'message_opened', 'message_clicked',
                         'sequence_enrollment_replied')
      AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
)"""
_DISTINCT_KEY_ROWS = (
    "uniqExact(kind, event_type, channel, campaign_id, template_id, sequence_id, step_number, "
    "machine_open, key)")


@dataclass(frozen=True)
class DerivedTable:
    """How one derived table adds up, and what the raw table says it should hold."""

    name: str
    time_column: str  # `bucket` (15-minute tables) or `day`
    total: str  # the table's rows added up, per tenant and period
    raw_total: str = "count()"  # the same from `raw_source`
    raw_filter: str = "1"  # the raw events the table derives from
    raw_source: str = "analytics_events"

    @property
    def daily(self) -> bool:
        return self.time_column == "day"


_DELIVERED = "event_type = 'message_delivered' AND duration_ms IS NOT NULL"
_SUPPRESSING = ("contact_id != '' AND ((event_type = 'message_bounced' AND bounce_type = 'hard') "
                "OR event_type IN ('message_complained', 'message_unsubscribed'))")

TABLES: tuple[DerivedTable, ...] = (
    DerivedTable("event_ids", "occurred_at", "count()"),
    DerivedTable("message_counts_15m", "bucket", "sum(events)", raw_filter=_MESSAGES),
    DerivedTable("message_counts_1d", "day", "sum(events)", raw_filter=_MESSAGES),
    DerivedTable("entity_message_counts_1d", "day", "sum(events)", raw_filter=_MESSAGES),
    DerivedTable("campaign_message_counts_15m", "bucket", "sum(events)",
                 raw_filter=f"{_MESSAGES} AND campaign_id != ''"),
    DerivedTable("lifecycle_counts_15m", "bucket", "sum(events)", raw_filter=_LIFECYCLE),
    DerivedTable("lifecycle_counts_1d", "day", "sum(events)", raw_filter=_LIFECYCLE),
    DerivedTable("distinct_keys_15m", "bucket", _DISTINCT_KEY_ROWS, _DISTINCT_KEY_ROWS,
                 raw_source=_KEY_ROWS),
    DerivedTable("distinct_keys_1d", "day", _DISTINCT_KEY_ROWS, _DISTINCT_KEY_ROWS,
                 raw_source=_KEY_ROWS),
    # A sketch cannot be added up; its samples can (every state holds its events' count).
    DerivedTable("delivery_latency_15m", "bucket", "sum(samples)", raw_filter=_DELIVERED),
    DerivedTable("delivery_latency_1d", "day", "sum(samples)", raw_filter=_DELIVERED),
    # One row per suppressing event (duplicates merge away): distinct event ids.
    DerivedTable("suppression_events", "occurred_at", "uniqExact(id)", "uniqExact(id)",
                 raw_filter=_SUPPRESSING),
    # Every event that names a contact, by the hour of its timestamp.
    DerivedTable("contact_hourly", "hour", "sum(events)", raw_filter="contact_id != ''"),
    # Every message event of a campaign, and every message event, by UTC day.
    DerivedTable("campaign_daily", "day", "sum(events)",
                 raw_filter=f"{_MESSAGES} AND campaign_id != ''"),
    DerivedTable("tenant_daily", "day", "sum(events)", raw_filter=_MESSAGES),
)


@dataclass(frozen=True)
class Drift:
    table: str
    tenant_id: str
    period: datetime
    raw: int
    derived: int


def drift_sql(table: DerivedTable) -> str:
    """Per tenant and period of [since, until): raw and derived totals where they differ.

    Built only from the constant descriptions above; the range is bound."""
    period = "toStartOfDay" if table.daily else "toStartOfHour"
    if table.time_column == "day":
        in_range = ("day >= toDate({since:DateTime64(3, 'UTC')}) "
                    "AND day < toDate({until:DateTime64(3, 'UTC')})")
        derived_period = "toDateTime(day, 'UTC')"
    else:
        column = table.time_column
        in_range = (f"{column} >= {{since:DateTime64(3, 'UTC')}} "
                    f"AND {column} < {{until:DateTime64(3, 'UTC')}}")
        derived_period = f"{period}({column})"
    return (
        "SELECT tenant_id, period, sum(raw) AS raw, sum(derived) AS derived FROM ("  # noqa: S608
        f"SELECT tenant_id, {period}(occurred_at) AS period, {table.raw_total} AS raw, "
        f"toUInt64(0) AS derived FROM {table.raw_source} "
        f"WHERE ({table.raw_filter}) AND occurred_at >= {{since:DateTime64(3, 'UTC')}} "
        "AND occurred_at < {until:DateTime64(3, 'UTC')} GROUP BY tenant_id, period "
        f"UNION ALL SELECT tenant_id, toDateTime({derived_period}, 'UTC') AS period, "
        f"toUInt64(0) AS raw, {table.total} AS derived FROM {table.name} "
        f"WHERE {in_range} GROUP BY tenant_id, period"
        ") GROUP BY tenant_id, period HAVING raw != derived ORDER BY tenant_id, period"
    )


def check_window(table: DerivedTable, now: datetime, hours: int) -> tuple[datetime, datetime]:
    """The recent whole periods a check reads: `hours` whole hours, or the previous UTC day."""
    if table.daily:
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=1), today
    until = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return until - timedelta(hours=hours), until


async def find_drift(storage: Storage, now: datetime, *, hours: int = 3,
                     recheck_after: float = 2.0) -> list[Drift]:
    """Disagreements between every derived table and the raw table, in recent periods.

    A batch being committed has reached the raw table before its views, so a period that
    disagrees is read again after `recheck_after` seconds and reported only if it still
    does."""
    async def read(table: DerivedTable) -> list[Drift]:
        since, until = check_window(table, now, hours)
        rows = await storage.query(drift_sql(table), {"since": since, "until": until})
        return [Drift(table.name, tenant, period, raw, derived)
                for tenant, period, raw, derived in rows]

    found = [drift for table in TABLES for drift in await read(table)]
    if not found or recheck_after <= 0:
        return found
    await asyncio.sleep(recheck_after)
    again = {(d.table, d.tenant_id, d.period): d for table in TABLES
             if any(f.table == table.name for f in found) for d in await read(table)}
    return [again[key] for key in ((d.table, d.tenant_id, d.period) for d in found)
            if key in again]


async def check_rollups(storage: Storage, metrics: Metrics, *, hours: int = 3,
                        recheck_after: float = 2.0, now: datetime | None = None) -> int:
    """Run the check, log and count each disagreement, and keep the result for the alert
    evaluator (`drift_checks.py`); returns how many were found."""
    now = now or datetime.now(UTC)
    try:
        drift = await find_drift(storage, now, hours=hours, recheck_after=recheck_after)
    except StorageError as exc:
        log.warning("ingest.rollup_check.failed", error=str(exc)[:500])
        return 0
    for d in drift:
        log.error("ingest.rollup.drift", table=d.table, tenant_id=d.tenant_id,
                  period=d.period.isoformat(), raw=d.raw, derived=d.derived)
        metrics.rollup_drift.labels(table=d.table).inc()
    metrics.rollup_checked.set(metrics.clock())
    findings = [Finding(table=d.table, tenant_id=d.tenant_id, period=d.period.isoformat(),
                        raw=d.raw, derived=d.derived) for d in drift]
    try:
        await record_check(storage, now, len(TABLES), findings)
    except StorageError as exc:  # the gauges and logs have it; the alert waits for the next
        log.warning("ingest.rollup_check.unrecorded", error=str(exc)[:500])
    log.info("ingest.rollup_check.done", tables=len(TABLES), drifting=len(drift))
    return len(drift)
