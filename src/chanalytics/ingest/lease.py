"""A lock shared by every ingest process: a NATS KV key created only if absent.

Several `chanalytics ingest` processes may bind one durable consumer (server mode).
Each batch's stage → look-up → move must not interleave with another process's, or two
copies of one event (a publisher's re-publish fetched by two workers at once) could
both pass the "already stored?" check. The KV bucket's TTL frees the lock of a holder
that died; a live holder refreshes it while it works (storage retries may take long).
"""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import suppress
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError

log = structlog.get_logger(__name__)


class KvLease:
    def __init__(self, js: JetStreamContext, *, bucket: str = "chanalytics_locks",
                 key: str = "ingest-insert", ttl: float = 30.0) -> None:
        self.js, self.bucket, self.key, self.ttl = js, bucket, key, ttl
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}".encode()
        self._kv: Any = None
        self._revision = 0
        self._refresher: asyncio.Task[None] | None = None

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await self.js.create_key_value(bucket=self.bucket, ttl=self.ttl)
        return self._kv

    async def __aenter__(self) -> KvLease:
        kv = await self._bucket()
        delay = 0.005
        while True:
            try:
                self._revision = await kv.create(self.key, self.owner)
                break
            except KeyWrongLastSequenceError:
                await asyncio.sleep(delay)
                delay = min(0.1, delay * 2)
        self._refresher = asyncio.create_task(self._refresh())
        return self

    async def _refresh(self) -> None:
        kv = await self._bucket()
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                self._revision = await kv.update(self.key, self.owner, last=self._revision)
            except Exception as exc:  # the lease may be lost; say so loudly
                log.error("ingest.lease.refresh_failed", error=repr(exc))

    async def __aexit__(self, *_: object) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with suppress(asyncio.CancelledError):
                await self._refresher
        kv = await self._bucket()
        try:
            await kv.delete(self.key, last=self._revision)
        except Exception as exc:  # expired or lost: the TTL frees it anyway
            log.warning("ingest.lease.release_failed", error=repr(exc))
