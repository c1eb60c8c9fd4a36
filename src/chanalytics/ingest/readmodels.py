"""How fresh the read models are, for `/metrics`: the newest insert each one holds.

A read model kept by a view is refreshed inside the batch insert that stores its events
(the write-ahead protocol of `writer.py`), so its refresh time is part of
`chanalytics_insert_seconds`, and it is never behind the raw table; what is worth
watching is how old its newest insert is. That is read from the model itself: each row
keeps `stored_at`, and a minmax index on it lets a reading after the first look only at
parts holding an insert at least as new as the one seen before.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from chanalytics.clickhouse.storage import Storage, StorageError
from chanalytics.localtime import as_utc
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)

# Read models with a `stored_at` column (`clickhouse/README.md`).
READ_MODELS: tuple[str, ...] = ("contact_hourly",)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest_sql(table: str) -> str:
    """The newest `stored_at` of `table` from `since` on, and whether there is one."""
    if table not in READ_MODELS:
        raise ValueError(f"not a read model: {table!r}")
    return (f"SELECT count(), max(stored_at) FROM {table} "  # noqa: S608 (a listed name)
            "WHERE stored_at >= {since:DateTime64(3, 'UTC')}")


async def update_read_model_gauges(storage: Storage, metrics: Metrics,
                                   seen: dict[str, datetime]) -> None:
    """Read each read model's newest insert into the gauges; `seen` keeps the last found,
    so that the next reading starts there."""
    for table in READ_MODELS:
        try:
            rows = await storage.query(newest_sql(table), {"since": seen.get(table, _EPOCH)})
        except StorageError as exc:
            log.warning("ingest.read_model.unread", table=table, error=str(exc)[:500])
            continue
        found, newest = rows[0]
        if found:
            seen[table] = as_utc(newest)
        at = seen.get(table)
        metrics.read_model_seen(table, None if at is None else at.timestamp())
