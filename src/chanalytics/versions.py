"""Tenant versions: what a writer announces around every change to a tenant's stored data,
and what the answer cache (`query/cache.py`) checks before it reuses an answer.

A writer calls `writing(tenants)` before the change becomes visible and `stored(tenants)`
after it. A reader asks `current(tenant)`: a number that differs after every change, or
None while a change may be half visible (or the versions cannot be read). So an answer
kept under version v is reused only while the tenant is still at v, and a request that
began after a change was stored never gets an answer computed before it: the change was
announced as `writing` before it was visible, so no request in between reuses anything.

Two kinds, one per deployment:

- `LocalVersions`: counters in this process. Exact when every writer of the data is in
  this process, as with the embedded engine (one process owns its directory).
- `KvVersions`: a NATS key-value bucket, one key per tenant, for ClickHouse servers that
  several processes write and read. The version is the key's revision; reads go to the
  stream's leader (no direct gets), so a read after a write sees it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Protocol

import structlog
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from chanalytics.nats.buckets import kv_bucket

log = structlog.get_logger(__name__)

BUCKET = "chanalytics_versions"
WRITING = b"writing"


class Versions(Protocol):
    async def current(self, tenant_id: str) -> int | None: ...

    async def writing(self, tenants: Collection[str]) -> None: ...

    async def stored(self, tenants: Collection[str]) -> None: ...


class LocalVersions:
    """Per tenant: a counter bumped on every announcement, and the changes in flight."""

    def __init__(self) -> None:
        self._counter: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}

    async def current(self, tenant_id: str) -> int | None:
        if self._in_flight.get(tenant_id):
            return None
        return self._counter.get(tenant_id, 0)

    async def writing(self, tenants: Collection[str]) -> None:
        for tenant in tenants:
            self._counter[tenant] = self._counter.get(tenant, 0) + 1
            self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1

    async def stored(self, tenants: Collection[str]) -> None:
        for tenant in tenants:
            self._counter[tenant] = self._counter.get(tenant, 0) + 1
            left = self._in_flight.get(tenant, 0) - 1
            if left > 0:
                self._in_flight[tenant] = left
            else:
                self._in_flight.pop(tenant, None)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,200}")


def kv_key(tenant_id: str) -> str:
    """The bucket's key of a tenant: `t.<id>` for plain ids, else `h.<hex of its UTF-8>`
    (keys allow only letters, digits and `-_=./`)."""
    if _PLAIN_KEY.fullmatch(tenant_id):
        return f"t.{tenant_id}"
    return "h." + tenant_id.encode().hex()


class KvVersions:
    """Tenant versions in a NATS key-value bucket, shared by every process of a deployment."""

    def __init__(self, js: JetStreamContext, *, replicas: int = 1) -> None:
        self.js = js
        self.replicas = replicas
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await kv_bucket(self.js, KeyValueConfig(
                bucket=BUCKET, history=1, replicas=self.replicas, direct=False))
        return self._kv

    async def current(self, tenant_id: str) -> int | None:
        """The key's revision; 0 when no change was ever announced; None while a change is
        being written, or when NATS does not answer (the caller then reads afresh)."""
        try:
            entry = await (await self._bucket()).get(kv_key(tenant_id))
        except KeyNotFoundError:
            return 0
        except Exception as exc:  # NATS away: nothing can be proven, nothing is reused
            log.warning("versions.read.failed", tenant_id=tenant_id, error=repr(exc))
            return None
        return None if entry.value == WRITING else entry.revision

    async def writing(self, tenants: Collection[str]) -> None:
        """Raises when NATS does not confirm: the writer must not make the change visible."""
        kv = await self._bucket()
        await asyncio.gather(*(kv.put(kv_key(t), WRITING) for t in tenants))

    async def stored(self, tenants: Collection[str]) -> None:
        """Best effort: a tenant left at `writing` is only read afresh until its next change."""
        try:
            kv = await self._bucket()
            stamp = datetime.now(UTC).isoformat().encode()
            await asyncio.gather(*(kv.put(kv_key(t), stamp) for t in tenants))
        except Exception as exc:
            log.warning("versions.stored.failed", tenants=len(tenants), error=repr(exc))
