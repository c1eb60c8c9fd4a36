"""How fresh the read models are, for `/metrics` and the ingest-health alert
(`alerts/health.py`): the newest insert each one holds, and the raw table's.

A read model kept by a view is refreshed inside the batch insert that stores its events
(the write-ahead protocol of `writer.py`), so it is never behind the raw table: its
refresh time is that insert's (`chanalytics_read_model_refresh_seconds`, observed by the
writer), and what is worth watching is how old its newest insert is. That is read from
the model itself: each row keeps the instant of its (newest) insert — `stored_at` of
`contact_hourly`, a key column, and `last_stored_at` of the daily models, a `max` — and a
minmax index on it lets a reading after the first look only at parts holding an insert
at least as new as the one seen before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import structlog

from chanalytics.clickhouse.storage import Storage, StorageError
from chanalytics.live.stored import LiveEvent
from chanalytics.localtime import as_utc
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)

# The read models (`clickhouse/README.md`) and their column holding the insert's instant.
_STORED_COLUMN: dict[str, str] = {
    "contact_hourly": "stored_at",
    "campaign_daily": "last_stored_at",
    "tenant_daily": "last_stored_at",
}
READ_MODELS: tuple[str, ...] = tuple(_STORED_COLUMN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEWEST_STORED = "SELECT count(), max(newest_stored_at) FROM tenant_freshness"


def refreshed_by(events: Iterable[LiveEvent]) -> list[str]:
    """The read models a batch of these events adds rows to (the filters of their views)."""
    found: set[str] = set()
    for event in events:
        if event.contact_id:
            found.add("contact_hourly")
        if event.entity_type == "message":
            found.add("tenant_daily")
            if event.campaign_id:
                found.add("campaign_daily")
        if len(found) == len(READ_MODELS):
            break
    return [table for table in READ_MODELS if table in found]


def newest_sql(table: str) -> str:
    """The newest insert instant of `table` from `since` on, and whether there is one."""
    column = _STORED_COLUMN.get(table)
    if column is None:
        raise ValueError(f"not a read model: {table!r}")
    return (f"SELECT count(), max({column}) FROM {table} "  # noqa: S608 (listed names)
            f"WHERE {column} >= {{since:DateTime64(3, 'UTC')}}")


async def newest_inserts(storage: Storage, seen: dict[str, datetime]) -> dict[str, datetime | None]:
    """Each read model's newest insert (None before its first); `seen` keeps the last
    found, so that the next reading starts there (a failed reading answers the last)."""
    for table in READ_MODELS:
        try:
            rows = await storage.query(newest_sql(table), {"since": seen.get(table, _EPOCH)})
        except StorageError as exc:
            log.warning("ingest.read_model.unread", table=table, error=str(exc)[:500])
            continue
        found, newest = rows[0]
        if found:
            seen[table] = as_utc(newest)
    return {table: seen.get(table) for table in READ_MODELS}


async def newest_stored(storage: Storage) -> datetime | None:
    """The newest insert of any event (read models or not: lifecycle events reach none),
    from `tenant_freshness` (one row per tenant after merges); None before the first."""
    found, newest = (await storage.query(_NEWEST_STORED))[0]
    return as_utc(newest) if found else None


async def update_read_model_gauges(storage: Storage, metrics: Metrics,
                                   seen: dict[str, datetime]) -> None:
    """Read each read model's newest insert into the gauges (`newest_inserts`)."""
    for table, at in (await newest_inserts(storage, seen)).items():
        metrics.read_model_seen(table, None if at is None else at.timestamp())
