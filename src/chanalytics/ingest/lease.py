"""The insert lock: in one process an asyncio lock, across processes a fenced NATS KV lease.

Each batch's stage → look-up → commit must not interleave with another writer's, or two
copies of one event (a publisher's re-publish fetched by two workers at once) could both
pass the "already stored?" check, and one writer's recovery could drop the other's
staged batch. Several `chanalytics ingest` processes on one ClickHouse server therefore
share a lease: a KV key created only if absent, refreshed while held, freed by the
bucket's TTL when its holder dies.

A lease alone is not a lock: a holder that stalls (a long GC pause, a lost connection)
may still be working after its key expired and another writer took it. So the writer
asks `ensure_held()` right before its commit point, and the lease answers only from
what it knows for sure:

- the key is still ours at the revision we last wrote (one KV read), and
- the key cannot have expired before the commit is done: it expires `ttl` after the
  server stored our last write, which was after we sent it, so it lives at least until
  `sent + ttl`; the commit must start `margin` before that.

A refresh that failed, or found the revision moved, marks the lease lost for good.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Protocol

import structlog
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError

log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """The writer can no longer prove it holds the insert lease: it must not commit."""


class InsertLock(Protocol):
    """What the batch writer holds while it stores a batch."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def ensure_held(self) -> None:
        """Raise `LeaseLost` unless the lock is certainly still held."""


class LocalLock:
    """One process, one writer at a time: an asyncio lock that cannot be lost."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> LocalLock:
        await self._lock.acquire()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._lock.release()

    async def ensure_held(self) -> None:
        return None


class KvLease:
    def __init__(self, js: JetStreamContext, *, bucket: str = "chanalytics_locks",
                 key: str = "ingest-insert", ttl: float = 30.0, margin: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.js, self.bucket, self.key, self.ttl = js, bucket, key, ttl
        # Time a commit needs, at most, once it is allowed to start.
        self.margin = ttl / 3 if margin is None else margin
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}".encode()
        self._kv: Any = None
        self._revision = 0
        self._valid_until = 0.0
        self._lost = False
        self._refresher: asyncio.Task[None] | None = None

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await self.js.create_key_value(bucket=self.bucket, ttl=self.ttl)
        return self._kv

    async def __aenter__(self) -> KvLease:
        kv = await self._bucket()
        delay = 0.005
        while True:
            sent = self.clock()
            try:
                self._revision = await kv.create(self.key, self.owner)
                break
            except KeyWrongLastSequenceError:
                await asyncio.sleep(delay)
                delay = min(0.1, delay * 2)
        self._valid_until = sent + self.ttl
        self._lost = False
        self._refresher = asyncio.create_task(self._refresh())
        return self

    async def _refresh(self) -> None:
        kv = await self._bucket()
        while not self._lost:
            await asyncio.sleep(self.ttl / 3)
            sent = self.clock()
            try:
                self._revision = await kv.update(self.key, self.owner, last=self._revision)
            except Exception as exc:  # moved on, or unknown: either way no longer provable
                self._lost = True
                log.error("ingest.lease.refresh_failed", error=repr(exc))
                return
            self._valid_until = sent + self.ttl

    async def ensure_held(self) -> None:
        if self._lost:
            raise LeaseLost("the lease refresh failed")
        if self.clock() + self.margin >= self._valid_until:
            raise LeaseLost("the lease may expire before the commit is done")
        kv = await self._bucket()
        try:
            entry = await kv.get(self.key)
        except Exception as exc:  # deleted, expired, or NATS unreachable
            raise LeaseLost(f"the lease key cannot be read: {exc!r}") from exc
        if entry.revision != self._revision or entry.value != self.owner:
            self._lost = True
            raise LeaseLost(f"the lease moved to revision {entry.revision}")

    async def __aexit__(self, *_: object) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with suppress(asyncio.CancelledError):
                await self._refresher
        if self._lost:
            return  # another writer may hold it now: deleting would free *its* lease
        kv = await self._bucket()
        try:
            await kv.delete(self.key, last=self._revision)
        except Exception as exc:  # expired or lost: the TTL frees it anyway
            log.warning("ingest.lease.release_failed", error=repr(exc))
