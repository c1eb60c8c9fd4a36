"""Store a batch exactly once: skip ids already stored, insert the rest with a dedup token.

Duplicates arrive three ways, and each is stopped before a row reaches the rollups:
- the same event twice in one batch: dropped here (first copy kept);
- an event stored before (redelivery after a crash between insert and ack, or a
  publisher re-publishing it later): found in `event_ids` and skipped;
- an insert retried after an error although it had succeeded: the retry carries the
  same `insert_deduplication_token`, so ClickHouse drops it in the raw table and, with
  `deduplicate_blocks_in_dependent_materialized_views`, in every rollup.
Look-up and insert run under one lock so two writers never race on the same id.
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

LOOKUP_SQL = (
    "SELECT id FROM event_ids "
    "WHERE (occurred_at, id) IN {keys:Array(Tuple(DateTime64(3, 'UTC'), String))}"
)


# Serialises look-up + insert: an asyncio.Lock in one process; a shared lock across processes.
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
        """Store rows not stored yet. Retries storage errors until stored or stopped."""
        unique: dict[str, AnalyticsRow] = {}
        for row in rows:
            unique.setdefault(row.id, row)
        result = WriteResult(duplicates=len(rows) - len(unique))
        if unique:
            async with self.lock:
                stored_ids = await self._retrying(lambda: self._stored_ids(list(unique.values())))
                fresh = [r for r in unique.values() if r.id not in stored_ids]
                result.duplicates += len(unique) - len(fresh)
                if fresh:
                    await self._insert(fresh, result)
        if result.duplicates:
            self.metrics.duplicates_skipped.inc(result.duplicates)
        return result

    async def _stored_ids(self, rows: list[AnalyticsRow]) -> set[str]:
        keys = [(r.occurred_at, r.id) for r in rows]
        found = await self.storage.query(LOOKUP_SQL, {"keys": keys})
        return {row[0] for row in found}

    async def _insert(self, rows: list[AnalyticsRow], result: WriteResult) -> None:
        body = _encoder.encode_lines(rows)
        token = dedup_token(rows)
        started = time.perf_counter()
        try:
            await self._retrying(
                lambda: self.storage.insert_json("analytics_events", COLUMNS, body,
                                                 dedup_token=token),
                retry_rejections=False,
            )
        except StorageError as exc:
            # ClickHouse refused the data itself (not an outage): find the row(s) by halves.
            if len(rows) == 1:
                result.rejected.append((rows[0], str(exc)))
                return
            half = len(rows) // 2
            await self._insert(rows[:half], result)
            await self._insert(rows[half:], result)
            return
        self._record(rows, time.perf_counter() - started)
        result.stored += len(rows)

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
