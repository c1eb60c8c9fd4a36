"""API usage, recorded: every request to `/api/v1/analytics/*` that authenticated as a
tenant becomes a row of `api_requests` (method, route template, status, duration), read
back by `GET /api-usage` (`query/usage.py`).

Recording never delays an answer and never fails one: `record` appends to a buffer in
memory; a task of the app writes the buffer in batches every `FLUSH_SECONDS`. A batch that
storage refuses is kept and tried again, under the same deduplication token (so a write that
was stored although the client saw an error is not stored twice); past `MAX_PENDING`
rows the oldest refused batch is dropped and counted (`chanalytics_api_usage_dropped_total`).
`GET /api-usage` writes this process's buffer before it reads, so a client sees its own
requests at once (those of other API processes within `FLUSH_SECONDS`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

import msgspec
import structlog

from chanalytics.clickhouse.storage import Storage, StorageError
from chanalytics.metrics import ApiMetrics

log = structlog.get_logger(__name__)

TABLE = "api_requests"
COLUMNS = ("tenant_id", "at", "method", "route", "status", "duration_us")
PREFIX = "/api/v1/analytics/"
FLUSH_SECONDS = 1.0
MAX_PENDING = 100_000  # rows held while storage refuses them (~10 MB)
BATCH_ROWS = 10_000


class _Row(msgspec.Struct):
    """One row of `api_requests`, as a JSONEachRow line."""

    tenant_id: str
    at: str  # 'YYYY-MM-DD hh:mm:ss.fff', UTC
    method: str
    route: str
    status: int
    duration_us: int


_encode = msgspec.json.Encoder().encode


class UsageRecorder:
    def __init__(self, storage: Storage, metrics: ApiMetrics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage = storage
        self.metrics = metrics
        self.clock = clock  # the app's: what `timeRange` presets end at
        self._rows: list[bytes] = []  # JSON lines, not yet in a batch
        self._batches: deque[tuple[str, list[bytes]]] = deque()  # (token, rows) refused
        self._lock = asyncio.Lock()
        self.pending = 0  # rows recorded and not written yet

    def record(self, tenant_id: str, method: str, route: str, status: int,
               seconds: float, at: datetime | None = None) -> None:
        """Remember one request: O(1), no I/O. When `MAX_PENDING` rows wait, the oldest
        refused batch makes room; without one, this row is dropped."""
        if self.pending >= MAX_PENDING:
            if not self._batches:
                self.metrics.usage_dropped.inc()
                return
            dropped = len(self._batches.popleft()[1])
            self.pending -= dropped
            self.metrics.usage_dropped.inc(dropped)
        at = (at or self.clock()).astimezone(UTC)
        self._rows.append(_encode(_Row(tenant_id, at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                                       method, route, status, round(seconds * 1e6))))
        self.pending += 1
        self.metrics.usage_recorded.inc()

    async def flush(self) -> None:
        """Write everything recorded so far; what storage refuses is kept for the next try.
        Never raises for a storage error."""
        async with self._lock:
            while self._rows:
                rows, self._rows = self._rows[:BATCH_ROWS], self._rows[BATCH_ROWS:]
                self._batches.append((uuid.uuid4().hex, rows))
            while self._batches:
                token, rows = self._batches[0]
                started = time.perf_counter()
                try:
                    await self.storage.insert_json(TABLE, COLUMNS, b"\n".join(rows),
                                                   dedup_token=f"usage:{token}")
                except StorageError as exc:
                    log.warning("api.usage.write_failed", rows=len(rows), pending=self.pending,
                                error=str(exc)[:300])
                    return
                self._batches.popleft()
                self.pending -= len(rows)
                log.debug("api.usage.written", rows=len(rows),
                          duration_ms=round((time.perf_counter() - started) * 1000, 2))

    async def run(self) -> None:
        """Flush every `FLUSH_SECONDS` until cancelled; then a last flush."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    await self.flush()
                except Exception as exc:  # never let one bad write end the recording
                    log.error("api.usage.flush_failed", error=repr(exc)[:300])
        finally:
            with suppress(Exception):
                await asyncio.shield(self.flush())
