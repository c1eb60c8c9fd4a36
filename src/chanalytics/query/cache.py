"""The engine's answer cache: a read is reused while its tenant's data has not changed.

Every read of the engine (a query's statements, an entity-name look-up) is a function
of its arguments and of the tenant's stored data. Writers announce each change of that
data (`versions.py`); a read is kept under the tenant's version when it began and reused
only while the tenant is still at that version. Nothing expires on a timer, so nothing
stale is ever served: an event stored before a request began changed the version first.

Identical reads that arrive while one is running share it (a dashboard opened by several
people at once asks ClickHouse once). Reads of many rows (exports, large reports) are
not kept: they are asked rarely, and would crowd out the small answers that are asked
again and again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from chanalytics.versions import Versions

T = TypeVar("T")

# One request's tenant versions: its reads ask the versions once (with NATS, a round
# trip each), all after the request began, so each may use the first answer.
_asked: ContextVar[dict[str, int | None] | None] = ContextVar("asked_versions", default=None)

MAX_ENTRIES = 4096
MAX_ROWS = 5000  # reads with more rows than this are not kept


@contextmanager
def one_request() -> Iterator[None]:
    """The reads inside share the tenant versions the first of them asked for."""
    token = _asked.set({})
    try:
        yield
    finally:
        _asked.reset(token)


class AnswerCache:
    """`on_read(source)` is told where each read's value came from: `kept`, `shared` (a
    running read's), `read` (ClickHouse), or `fresh` (ClickHouse, while a change of the
    tenant was being written)."""

    def __init__(self, versions: Versions, *, max_entries: int = MAX_ENTRIES,
                 max_rows: int = MAX_ROWS,
                 on_read: Callable[[str], None] = lambda source: None) -> None:
        self.versions = versions
        self.max_entries = max_entries
        self.max_rows = max_rows
        self.on_read = on_read
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0

    async def read(self, tenant_id: str, key: Hashable, compute: Callable[[], Awaitable[T]],
                   rows: Callable[[T], int]) -> T:
        """`compute()`'s value, reused while `tenant_id`'s version is unchanged; `rows`
        tells how large a value is."""
        version = await self._version(tenant_id)
        if version is None:  # a change is being written: read afresh, keep nothing
            self._count("fresh")
            return await compute()
        full_key = (tenant_id, version, key)
        if full_key in self._kept:
            self._kept.move_to_end(full_key)
            self._count("kept")
            value: T = self._kept[full_key]
            return value
        running = self._running.get(full_key)
        if running is not None:
            self._count("shared")
            try:
                shared: T = await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this request was cancelled
                return await compute()  # the one it waited for was: read itself
            return shared
        self._count("read")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[full_key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._running[full_key]
        future.set_result(value)
        if rows(value) <= self.max_rows:
            self._kept[full_key] = value
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)
        return value

    async def _version(self, tenant_id: str) -> int | None:
        asked = _asked.get()
        if asked is None:
            return await self.versions.current(tenant_id)
        if tenant_id not in asked:
            asked[tenant_id] = await self.versions.current(tenant_id)
        return asked[tenant_id]

    def _count(self, source: str) -> None:
        if source in ("kept", "shared"):
            self.hits += 1
        else:
            self.misses += 1
        self.on_read(source)
