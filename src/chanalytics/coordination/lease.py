"""The insert lock: in one process an asyncio lock, across processes a fenced NATS KV lease.

Each batch's stage → look-up → commit must not interleave with another writer's, or two
copies of one event (a publisher's re-publish fetched by two workers at once) could both
pass the "already stored?" check, and one writer's recovery could drop the other's
staged batch. Several `chanalytics ingest` processes on one ClickHouse server therefore
share a lease: a KV key created only if absent, renewed while held, freed by the
bucket's TTL when its holder dies.

The TTL is short (`TTL`, 5 s) so that a killed holder costs the others seconds, not half
a minute: while a batch is being stored its holder renews the key every `ttl / 3` in the
background, so a live holder keeps it however long the batch takes (a slow insert,
storage retries), and a dead one's expires at most `ttl` after its last renewal.

A lease alone is not a lock: a holder that stalls (a long GC pause, a lost connection)
may still be working after its key expired and another writer took it. So the writer
asks `ensure_held()` right before each attempt at its commit point, and the lease answers
only from what it knows for sure. It renews the key with a compare-and-set on the
revision it last wrote:

- success proves the key never left us: an expired key, or one another writer took,
  has another last revision, and the set fails;
- the renewed key cannot expire before `sent + ttl` (the server stored it after we sent
  it); the commit must start `margin` before that, so a renewal that itself took too
  long (the process paused mid-way) does not count.

A renewal that failed, or found the revision moved, marks the lease lost for good.
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
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

log = structlog.get_logger(__name__)

# Seconds a dead holder keeps the lease at most. Renewed every third of it, a live
# holder's key has two renewals' worth of slack before it could expire.
TTL = 5.0


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
                 key: str = "ingest-insert", ttl: float = TTL, margin: float | None = None,
                 clock: Callable[[], float] = time.monotonic, max_poll: float = 0.1) -> None:
        self.js, self.bucket, self.key, self.ttl = js, bucket, key, ttl
        # How long a process waiting for the lease waits between tries, at most: short for
        # a writer waiting its turn, longer for a standby scheduler (it waits for good).
        self.max_poll = max_poll
        # Time a commit needs, at most, once it is allowed to start.
        self.margin = ttl / 3 if margin is None else margin
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}".encode()
        self._kv: Any = None
        self._revision = 0
        self._valid_until = 0.0
        self._lost = False
        self._refresher: asyncio.Task[None] | None = None
        # The refresher and `ensure_held` both write at `_revision`: one at a time, or
        # the slower would find the revision moved by the other and call the lease lost.
        self._writing = asyncio.Lock()

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await _bucket_with_ttl(self.js, self.bucket, self.ttl)
        return self._kv

    async def __aenter__(self) -> KvLease:
        kv = await self._bucket()
        delay = 0.005
        while True:
            sent = self.clock()
            try:
                self._revision = await kv.create(self.key, self.owner)
                break
            # Held by another; or held when `create` tried and expired before it looked
            # again (nats-py then raises "key not found"): either way, try again.
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                await asyncio.sleep(delay)
                delay = min(self.max_poll, delay * 2)
        self._valid_until = sent + self.ttl
        self._lost = False
        self._refresher = asyncio.create_task(self._refresh())
        return self

    async def _refresh(self) -> None:
        while not self._lost:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self._renew()
            except LeaseLost as exc:
                log.error("ingest.lease.refresh_failed", error=repr(exc.__cause__ or exc))
                return

    async def _renew(self) -> None:
        """Write the key again at the revision we last wrote; `LeaseLost` if it moved."""
        kv = await self._bucket()
        async with self._writing:
            if self._lost:
                raise LeaseLost("the lease renewal failed")
            sent = self.clock()
            try:
                self._revision = await kv.update(self.key, self.owner, last=self._revision)
            except Exception as exc:  # moved on, expired, or unknown: no longer provable
                self._lost = True
                raise LeaseLost(f"the lease could not be renewed: {exc!r}") from exc
            self._valid_until = sent + self.ttl

    async def ensure_held(self) -> None:
        await self._renew()
        if self.clock() + self.margin >= self._valid_until:
            raise LeaseLost("the lease may expire before the commit is done")

    async def __aexit__(self, *_: object) -> None:
        async with self._writing:  # not while a renewal is in flight: its revision is ours
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


async def _bucket_with_ttl(js: JetStreamContext, bucket: str, ttl: float) -> Any:
    """The lease bucket, its keys expiring after `ttl`. A bucket made by an earlier
    release (30 s) is shortened in place: every holder must assume the same TTL, so an
    ingest process of that release must not run beside this one."""
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(bucket=bucket, ttl=ttl)
        except BadRequestError:  # another ingest process created it a moment before
            kv = await js.key_value(bucket)
    info = await js.stream_info(f"KV_{bucket}")
    had = info.config.max_age or 0.0
    if abs(had - ttl) > 1e-3:
        await js.update_stream(info.config.evolve(
            max_age=ttl, duplicate_window=min(ttl, info.config.duplicate_window or ttl)))
        log.warning("ingest.lease.ttl_changed", bucket=bucket, ttl_s=ttl, was_s=had)
    return kv
