"""Store a batch exactly once, even when the process is killed at any instant.

Materialized views fire on every block inserted into `analytics_events`, so a row that
reaches it twice is counted twice in every rollup; and ClickHouse does not commit a
source table and its views atomically, so a kill mid-insert can leave some views with
the block and others without. The writer therefore keeps a small write-ahead protocol:

1. drop repeats inside the batch (the first copy of an id wins) and stage the rest in
   `ingest_staging`, partition = batch token (no views);
2. find ids already stored (`event_ids`, keyed by id: an event re-sent with another
   `timestamp` is the same event); if any, re-stage only the fresh rows under their
   own token;
3. the commit point: `MOVE PARTITION … TO TABLE ingest_ready`, atomic; from here the
   batch is fixed. A writer that can no longer prove it holds the insert lock
   (`lease.py`, asked before every attempt) stops before it, and leaves the batch to
   redelivery;
4. `INSERT INTO analytics_events SELECT … FROM ingest_ready` with the token as
   `insert_deduplication_token` (and dependent-view dedup), then drop the partition.

Around step 4 the writer announces the change to the tenants' versions (`versions.py`):
`writing` before the rows can be seen, `stored` after, so no answer computed before the
change is reused after it. Between step 4 and the drop it publishes the batch's events to
the stored stream (`live/stored.py`), so the live stream shows what is counted; a batch
recovered after a kill publishes them again under the same message ids (dropped there
as duplicates).

Recovery, before every batch and under the same lock: a partition left in
`ingest_ready` is moved again with its token — tables that have the block skip it, views
that missed it get it; partitions left in `ingest_staging` are dropped (their messages
were never acknowledged and come back). Every derived table is a materialized view of
`analytics_events`, so nothing else needs recovering.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
import structlog

from chanalytics.clickhouse.storage import Storage, StorageError, StorageUnavailable
from chanalytics.coordination.lease import InsertLock, LeaseLost, LocalLock
from chanalytics.coordination.retry import Backoff
from chanalytics.ingest.readmodels import refreshed_by
from chanalytics.live.stored import LiveEvent, StoredNotices, row_events
from chanalytics.localtime import utc_text
from chanalytics.mappers.rows import COLUMNS, AnalyticsRow
from chanalytics.metrics import Metrics
from chanalytics.versions import LocalVersions, Versions

log = structlog.get_logger(__name__)

_LIVE_FIELDS = ("id", "type", "occurred_at", "channel", "entity_type", "entity_id",
                "contact_id", "campaign_id", "workflow_id", "sequence_id", "template_id",
                "provider")

T = TypeVar("T")

_encoder = msgspec.json.Encoder(decimal_format="number")
_COLUMN_LIST = ", ".join(COLUMNS)

# GLOBAL: on a cluster `event_ids` is Distributed and the staged batch is on this node
# only, so the batch's ids are sent to every shard (one server: a plain IN).
ALREADY_STORED_SQL = (
    "SELECT id FROM event_ids WHERE id GLOBAL IN "
    "(SELECT id FROM ingest_staging WHERE batch = {batch:String})"
)
READY_SQL = "ALTER TABLE ingest_staging MOVE PARTITION {batch:String} TO TABLE ingest_ready"
READY_IDS_SQL = "SELECT uniqExact(id) FROM ingest_ready WHERE batch = {batch:String}"
# The only formatted part is the fixed column list of AnalyticsRow; values are bound.
# ORDER BY makes a retried move produce the very same block; of two copies of an id
# (only a writer that lost its lease can add one) the first published wins.
MOVE_SQL = (
    f"INSERT INTO analytics_events ({_COLUMN_LIST}) "  # noqa: S608
    f"SELECT {_COLUMN_LIST} FROM ingest_ready WHERE batch = {{batch:String}} "
    "ORDER BY id, stream_seq LIMIT 1 BY id "
    "SETTINGS insert_deduplication_token = {batch:String}, "
    "deduplicate_blocks_in_dependent_materialized_views = 1"
)
DROP_STAGED_SQL = "ALTER TABLE ingest_staging DROP PARTITION {batch:String}"
DROP_READY_SQL = "ALTER TABLE ingest_ready DROP PARTITION {batch:String}"
# A recovered batch's events as the live stream shows them (the rows the move keeps).
READY_EVENTS_SQL = (
    "SELECT tenant_id, id, event_type, occurred_at, channel, entity_type, entity_id, "
    "contact_id, campaign_id, workflow_id, sequence_id, template_id, provider, stream_seq "
    "FROM ingest_ready WHERE batch = {batch:String} ORDER BY id, stream_seq LIMIT 1 BY id"
)
LEFT_OVER_SQL = (
    "SELECT 'ready', batch FROM (SELECT DISTINCT batch FROM ingest_ready) "
    "UNION ALL SELECT 'staged', batch FROM (SELECT DISTINCT batch FROM ingest_staging)"
)


class BatchLost(LeaseLost):
    """The committed batch does not hold every staged row: another writer interfered."""


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[AnalyticsRow, str]] = field(default_factory=list)


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


SUMMARY_SECONDS = 60.0  # one info line a minute; each batch's line is at debug


@dataclass
class _Summary:
    since: float
    batches: int = 0
    events: int = 0
    store: float = 0.0  # seconds spent storing

    def add(self, events: int, seconds: float) -> None:
        self.batches += 1
        self.events += events
        self.store += seconds


class BatchWriter:
    def __init__(
        self,
        storage: Storage,
        metrics: Metrics,
        lock: InsertLock | None = None,
        *,
        versions: Versions | None = None,
        notices: StoredNotices | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.storage = storage
        self.metrics = metrics
        self.lock: InsertLock = lock if lock is not None else LocalLock()
        self.versions: Versions = versions if versions is not None else LocalVersions()
        self.notices = notices
        self.should_stop = should_stop
        self._summary = _Summary(time.monotonic())

    async def write(self, rows: Sequence[AnalyticsRow]) -> WriteResult:
        """Store rows not stored yet. Retries storage outages until stored or stopped;
        raises `LeaseLost` (nothing committed) when the insert lock was lost."""
        unique: dict[str, AnalyticsRow] = {}
        for row in rows:
            unique.setdefault(row.id, row)
        result = WriteResult(duplicates=len(rows) - len(unique))
        if unique:
            started = time.perf_counter()
            async with self.lock:
                await self.recover()
                fresh, batch = await self._stage_fresh(list(unique.values()), result)
                if fresh:
                    await self._commit(batch, len(fresh), row_events(fresh))
            result.duplicates += len(unique) - len(fresh) - len(result.rejected)
            result.stored = len(fresh)
            if fresh:
                self._record(fresh, time.perf_counter() - started)
        if result.duplicates:
            self.metrics.duplicates_skipped.inc(result.duplicates)
        return result

    async def recover(self) -> None:
        """Finish moves a killed writer left half done; forget batches it only staged."""
        left = await self._retrying(lambda: self.storage.query(LEFT_OVER_SQL))
        for state, batch in left:
            if state == "ready":
                log.warning("ingest.batch.recovered", batch=batch)
                await self._move(batch, await self._ready_events(batch))
            else:
                await self._command(DROP_STAGED_SQL, batch)

    async def _ready_events(self, batch: str) -> list[tuple[str, LiveEvent]]:
        rows = await self._retrying(
            lambda: self.storage.query(READY_EVENTS_SQL, {"batch": batch}))
        events = []
        for tenant, *values, _ in sorted(rows, key=lambda r: r[-1]):
            fields = dict(zip(_LIVE_FIELDS, values, strict=True))
            at: datetime = fields["occurred_at"]
            events.append((tenant, LiveEvent(
                id=fields["id"], type=fields["type"],
                occurred_at=utc_text(at if at.tzinfo else at.replace(tzinfo=UTC)),
                **{k: v or None for k, v in fields.items()
                   if k not in ("id", "type", "occurred_at")})))
        return events

    async def _stage_fresh(
        self, rows: list[AnalyticsRow], result: WriteResult
    ) -> tuple[list[AnalyticsRow], str]:
        """Stage the rows not stored yet; returns them and the batch token they are under."""
        batch = dedup_token(rows)
        staged = await self._stage(rows, batch, result)
        found = await self._retrying(
            lambda: self.storage.query(ALREADY_STORED_SQL, {"batch": batch}))
        if not found:
            return staged, batch
        await self._command(DROP_STAGED_SQL, batch)
        stored_ids = {r[0] for r in found}
        fresh = [r for r in staged if r.id not in stored_ids]
        batch = dedup_token(fresh)
        return (await self._stage(fresh, batch, result) if fresh else []), batch

    async def _commit(self, batch: str, expected: int,
                      events: list[tuple[str, LiveEvent]]) -> None:
        """Fix the staged batch (only while the lock is certainly held), then store it."""

        async def mark_ready() -> None:
            # Proven again before every attempt: a retry after a storage outage may come
            # long after the first proof, and the lease lives only seconds past it.
            await self.lock.ensure_held()
            await self.storage.command(READY_SQL, {"batch": batch})

        await self._retrying(mark_ready)
        ready = await self._retrying(
            lambda: self.storage.query(READY_IDS_SQL, {"batch": batch}))
        if ready[0][0] != expected:
            # Stored anyway by the next recovery, but some rows are missing: none of the
            # batch's messages may be acknowledged (their redelivery stores the rest).
            log.error("ingest.batch.incomplete", batch=batch, staged=expected,
                      ready=ready[0][0])
            raise BatchLost(f"batch {batch}: {ready[0][0]} of {expected} rows were committed")
        await self._move(batch, events)

    async def _move(self, batch: str, events: list[tuple[str, LiveEvent]]) -> None:
        """Make the fixed batch visible, announced to its tenants' versions around it,
        then publish its events to the stored stream."""
        tenants = {tenant for tenant, _ in events}
        await self._until_confirmed("versions", lambda: self.versions.writing(tenants))
        try:
            started = time.perf_counter()
            await self._command(MOVE_SQL, batch)
            # The views, read models among them, are refreshed inside this statement.
            seconds = time.perf_counter() - started
            for table in refreshed_by(event for _, event in events):
                self.metrics.read_model_refresh.labels(table=table).observe(seconds)
        finally:  # whatever became visible is now the stored state
            await self.versions.stored(tenants)
        if (notices := self.notices) is not None:
            await self._until_confirmed("notices", lambda: notices.publish(batch, events))
        await self._command(DROP_READY_SQL, batch)

    async def _until_confirmed(self, what: str, call: Callable[[], Awaitable[None]]) -> None:
        """A NATS step of the move, retried until confirmed (NATS away a moment) or the
        writer stops (the batch then waits, fixed, for the next recovery)."""
        backoff = Backoff()
        while True:
            try:
                return await call()
            except Exception as exc:
                if self.should_stop():
                    raise StorageUnavailable(f"stopping while publishing {what}: {exc}") from exc
                delay = backoff.next_delay()
                log.warning("ingest.nats.retry", step=what, error=repr(exc)[:500],
                            attempt=backoff.attempt, delay_s=delay)
                await asyncio.sleep(delay)

    async def _command(self, sql: str, batch: str) -> None:
        await self._retrying(lambda: self.storage.command(sql, {"batch": batch}))

    async def _stage(
        self, rows: list[AnalyticsRow], batch: str, result: WriteResult
    ) -> list[AnalyticsRow]:
        """Stage rows; a row ClickHouse refuses (not an outage) is isolated by halves.
        Returns the rows staged."""
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
                return []
            half = len(rows) // 2
            return [*await self._stage(rows[:half], batch, result),
                    *await self._stage(rows[half:], batch, result)]
        return rows

    def _record(self, rows: list[AnalyticsRow], seconds: float) -> None:
        self.metrics.insert_seconds.observe(seconds)
        self.metrics.batches.inc()
        types: dict[str, int] = {}
        for r in rows:
            types[r.event_type] = types.get(r.event_type, 0) + 1
        for event_type, n in types.items():
            self.metrics.events_ingested.labels(event_type=event_type).inc(n)
        event_times = [r.occurred_at.timestamp() for r in rows]
        self.metrics.batch_stored(min(event_times), max(event_times))
        tenants = {r.tenant_id for r in rows}
        log.debug(
            "ingest.batch.flushed", batch_size=len(rows), event_types=sorted(types),
            tenant_id=next(iter(tenants)) if len(tenants) == 1 else "multi",
            tenants=len(tenants), duration_ms=round(seconds * 1e3, 1),
        )
        self._summary.add(len(rows), seconds)
        now = time.monotonic()
        if now - self._summary.since >= SUMMARY_SECONDS:
            summary, self._summary = self._summary, _Summary(now)
            log.info("ingest.batches.summary", batches=summary.batches, events=summary.events,
                     seconds=round(now - summary.since), store_ms=round(summary.store * 1e3))

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
                await asyncio.sleep(delay)
