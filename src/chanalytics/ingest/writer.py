"""Store a batch exactly once.

Materialized views fire on every block inserted into `analytics_events`, so a duplicate
that reaches it is counted in every rollup. Duplicates arrive three ways and each is
stopped before that table:
- the same event twice in one batch: dropped here (first copy kept);
- an event stored before (redelivery after a crash between insert and ack, or a
  publisher re-publishing it later): the batch is first staged in `ingest_staging`
  (no views), then moved with one `INSERT … SELECT` that skips every `(occurred_at, id)`
  already in `event_ids` — ClickHouse does the look-up with the staged keys as an
  indexed set, so no id list is ever rendered in Python;
- a move retried after an error although it had succeeded: the rows are then found in
  `event_ids`; and the `insert_deduplication_token` (with dependent-view dedup) drops a
  retry that raced the first attempt.
The whole sequence runs under one lock so two writers never race on the same ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import structlog

from chanalytics.metrics import Metrics
from chanalytics.rows import COLUMNS, AnalyticsRow
from chanalytics.storage import Storage, StorageError, StorageUnavailable

log = structlog.get_logger(__name__)

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_COLUMN_LIST = ", ".join(COLUMNS)

ALREADY_STORED_SQL = (
    "SELECT id FROM event_ids WHERE (occurred_at, id) IN "
    "(SELECT occurred_at, id FROM ingest_staging WHERE batch = {batch:String})"
)
# The only formatted part is the fixed column list of AnalyticsRow; values are bound.
MOVE_SQL = (
    f"INSERT INTO analytics_events ({_COLUMN_LIST}) "  # noqa: S608
    f"SELECT {_COLUMN_LIST} FROM ingest_staging "
    "WHERE batch = {batch:String} AND (occurred_at, id) NOT IN ("
    "  SELECT occurred_at, id FROM event_ids WHERE (occurred_at, id) IN "
    "  (SELECT occurred_at, id FROM ingest_staging WHERE batch = {batch:String})) "
    "LIMIT 1 BY id "
    "SETTINGS insert_deduplication_token = {batch:String}, "
    "deduplicate_blocks_in_dependent_materialized_views = 1"
)
DROP_SQL = "ALTER TABLE ingest_staging DROP PARTITION {batch:String}"

# Serialises stage + move: an asyncio.Lock in one process; a shared lock across processes.
InsertLock = AbstractAsyncContextManager[Any]


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[AnalyticsRow, str]] = field(default_factory=list)


@dataclass
class Backoff:
    """Exponential back-off between retries, capped."""

    first: float = 0.05
    cap: float = 5.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay: float = min(self.cap, self.first * (2**self.attempt))
        self.attempt += 1
        return delay


def dedup_token(rows: Sequence[AnalyticsRow]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for event_id in sorted(r.id for r in rows):
        digest.update(event_id.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def staged_lines(rows: Sequence[AnalyticsRow], batch: str) -> bytes:
    """JSON lines of `rows` with a leading `batch` field (a line only starts at `\\n{`:
    JSON escapes newlines inside strings)."""
    prefix = b'{"batch":"' + batch.encode() + b'",'
    body = _encoder.encode_lines(rows)
    return prefix + body[1:].replace(b"\n{", b"\n" + prefix)


class BatchWriter:
    def __init__(
        self,
        storage: Storage,
        metrics: Metrics,
        lock: InsertLock | None = None,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_retry: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.storage = storage
        self.metrics = metrics
        self.lock: InsertLock = lock if lock is not None else asyncio.Lock()
        self.should_stop = should_stop
        self.on_retry = on_retry
        self.newest_event = 0.0

    async def write(self, rows: Sequence[AnalyticsRow]) -> WriteResult:
        """Store rows not stored yet. Retries storage outages until stored or stopped."""
        unique: dict[str, AnalyticsRow] = {}
        for row in rows:
            unique.setdefault(row.id, row)
        result = WriteResult(duplicates=len(rows) - len(unique))
        if unique:
            started = time.perf_counter()
            async with self.lock:
                batch = dedup_token(list(unique.values()))
                await self._stage(list(unique.values()), batch, result)
                params = {"batch": batch}
                stored_ids = {r[0] for r in await self._retrying(
                    lambda: self.storage.query(ALREADY_STORED_SQL, params))}
                rejected = {row.id for row, _ in result.rejected}
                fresh = [r for r in unique.values()
                         if r.id not in stored_ids and r.id not in rejected]
                if fresh:
                    await self._retrying(lambda: self.storage.command(MOVE_SQL, params))
                await self._retrying(lambda: self.storage.command(DROP_SQL, params))
            result.duplicates += len(stored_ids)
            result.stored = len(fresh)
            if fresh:
                self._record(fresh, time.perf_counter() - started)
        if result.duplicates:
            self.metrics.duplicates_skipped.inc(result.duplicates)
        return result

    async def _stage(self, rows: list[AnalyticsRow], batch: str, result: WriteResult) -> None:
        """Stage rows; a row ClickHouse refuses (not an outage) is isolated by halves."""
        body = staged_lines(rows, batch)
        try:
            await self._retrying(
                lambda: self.storage.insert_json("ingest_staging", ("batch", *COLUMNS), body),
                retry_rejections=False,
            )
        except StorageUnavailable:
            raise
        except StorageError as exc:
            if len(rows) == 1:
                result.rejected.append((rows[0], str(exc)))
                return
            half = len(rows) // 2
            await self._stage(rows[:half], batch, result)
            await self._stage(rows[half:], batch, result)

    def _record(self, rows: list[AnalyticsRow], seconds: float) -> None:
        self.metrics.insert_seconds.observe(seconds)
        self.metrics.batches.inc()
        types: dict[str, int] = {}
        for r in rows:
            types[r.event_type] = types.get(r.event_type, 0) + 1
        for event_type, n in types.items():
            self.metrics.events_ingested.labels(event_type=event_type).inc(n)
        self.newest_event = max(self.newest_event, max(r.occurred_at.timestamp() for r in rows))
        self.metrics.last_event_time.set(self.newest_event)
        tenants = {r.tenant_id for r in rows}
        log.info(
            "ingest.batch.flushed", batch_size=len(rows), event_types=sorted(types),
            tenant_id=next(iter(tenants)) if len(tenants) == 1 else "multi",
            tenants=len(tenants), duration_ms=round(seconds * 1e3, 1),
        )

    async def _retrying(
        self, call: Callable[[], Awaitable[T]], *, retry_rejections: bool = True
    ) -> T:
        """Run `call` until it succeeds. An outage is retried with back-off; a rejection
        (ClickHouse answered but refused) is raised unless `retry_rejections`."""
        backoff = Backoff()
        while True:
            try:
                return await call()
            except StorageError as exc:
                outage = isinstance(exc, StorageUnavailable) or not await self.storage.ping()
                if not outage and not retry_rejections:
                    raise
                if self.should_stop():
                    raise StorageUnavailable(f"stopping during storage retries: {exc}") from exc
                self.metrics.insert_errors.inc()
                delay = backoff.next_delay()
                log.warning("ingest.storage.retry", error=str(exc)[:500], outage=outage,
                            attempt=backoff.attempt, delay_s=delay)
                if self.on_retry is not None:
                    await self.on_retry()
                await asyncio.sleep(delay)
