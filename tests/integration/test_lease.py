"""The insert lease across writers: a holder that stalls past its lease never commits."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import nats
import pytest

from chanalytics.clickhouse.storage import Storage, StorageUnavailable
from chanalytics.coordination.lease import KvLease, LeaseLost
from chanalytics.ingest.writer import ALREADY_STORED_SQL, READY_SQL, BatchWriter
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]

TTL = 1.5


def batch(hour: int) -> list[AnalyticsRow]:
    return [AnalyticsRow(id=f"l{i}", tenant_id="t", event_type="message_sent",
                         entity_type="message", entity_id=f"m{i}", channel="email",
                         occurred_at=datetime(2026, 3, 1, hour, i, tzinfo=UTC))
            for i in range(20)]


class StallingStorage:
    """The writer's storage, whose "already stored?" look-up waits at a gate: a writer
    frozen mid-batch (a long pause, a partitioned host)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.gate = asyncio.Event()
        self.reached = asyncio.Event()

    async def query(self, sql: str, params: Any = None) -> Any:
        if sql == ALREADY_STORED_SQL:
            self.reached.set()
            await self.gate.wait()
        return await self._storage.query(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class ReadyOutage:
    """The writer's storage, whose first commit (`READY_SQL`) fails as an outage, after
    `meanwhile` ran: the lease moves on while the writer backs off to retry."""

    def __init__(self, storage: Storage, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self._storage, self.meanwhile = storage, meanwhile
        self.failed = False

    async def command(self, sql: str, params: Any = None) -> None:
        if sql == READY_SQL and not self.failed:
            self.failed = True
            await self.meanwhile()
            raise StorageUnavailable("connection refused (injected before the commit)")
        await self._storage.command(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


async def counts(storage: Storage) -> tuple[int, ...]:
    row = (await storage.query(
        "SELECT (SELECT count() FROM analytics_events), (SELECT count() FROM event_ids), "
        "(SELECT sum(events) FROM message_counts_15m)"))[0]
    return tuple(int(v or 0) for v in row)


class TestFencedLease:
    async def test_two_writers_with_an_expiring_lease_never_both_commit(
        self, storage: Storage, nats_url: str
    ) -> None:
        """Writer A stalls holding the lease until it expires; B takes it and stores the
        same events (re-stamped). When A wakes up it must not commit: each event counts
        once, and A's batch is handed back (LeaseLost) rather than acknowledged."""
        nc = await nats.connect(nats_url)
        bucket = f"locks_{uuid.uuid4().hex[:8]}"
        try:
            js = nc.jetstream()
            lease_a = KvLease(js, bucket=bucket, ttl=TTL)
            lease_b = KvLease(js, bucket=bucket, ttl=TTL)
            stalling = StallingStorage(storage)
            writer_a = BatchWriter(stalling, Metrics(), lease_a)  # type: ignore[arg-type]
            writer_b = BatchWriter(storage, Metrics(), lease_b)

            async def frozen() -> None:  # A's refresher is frozen with it
                await asyncio.Event().wait()

            lease_a._refresh = frozen  # type: ignore[method-assign]
            a = asyncio.create_task(writer_a.write(batch(9)))
            await asyncio.wait_for(stalling.reached.wait(), 10)
            # B waits for the lease, takes it once A's expired, recovers and commits.
            b = await asyncio.wait_for(writer_b.write(batch(14)), 30)
            assert b.stored == 20
            stalling.gate.set()
            with pytest.raises(LeaseLost):
                await asyncio.wait_for(a, 10)
            assert await counts(storage) == (20, 20, 20)
            hours = await storage.query(
                "SELECT DISTINCT toHour(occurred_at) FROM analytics_events")
            assert hours == [(14,)]
            # A's next batch takes the lease anew and finds everything stored.
            stalling.gate.set()
            again = await asyncio.wait_for(writer_a.write(batch(9)), 30)
            assert (again.stored, again.duplicates) == (0, 20)
            assert await counts(storage) == (20, 20, 20)
        finally:
            await nc.close()

    async def test_a_commit_retried_after_an_outage_proves_the_lease_again(
        self, storage: Storage, nats_url: str
    ) -> None:
        """The commit point is retried through a storage outage; a lease another writer
        took meanwhile is caught before the retry, which commits nothing."""
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            lease = KvLease(js, bucket=f"locks_{uuid.uuid4().hex[:8]}", ttl=TTL)

            async def taken() -> None:
                kv = await js.key_value(lease.bucket)
                await kv.put(lease.key, b"another writer")

            outage = ReadyOutage(storage, taken)
            writer = BatchWriter(outage, Metrics(), lease)  # type: ignore[arg-type]
            with pytest.raises(LeaseLost):
                await asyncio.wait_for(writer.write(batch(9)), 30)
            assert outage.failed
            assert await counts(storage) == (0, 0, 0)
        finally:
            await nc.close()

    async def test_a_lease_whose_refresh_failed_refuses_to_commit(self, nats_url: str) -> None:
        """Once a refresh fails (the key moved on), `ensure_held` refuses for good."""
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            lease = KvLease(js, bucket=f"locks_{uuid.uuid4().hex[:8]}", ttl=0.9)
            async with lease:
                await lease.ensure_held()
                kv = await js.key_value(lease.bucket)
                await kv.put(lease.key, b"someone else")  # the revision moves
                await asyncio.sleep(0.5)  # a refresh runs every ttl / 3
                with pytest.raises(LeaseLost):
                    await lease.ensure_held()
        finally:
            await nc.close()

    async def test_a_renewal_that_stalls_near_the_end_refuses_to_commit(
        self, nats_url: str
    ) -> None:
        """`ensure_held` renews the lease; a renewal that took so long (a pause mid-way)
        that the lease may end within `margin` does not let a commit start."""
        nc = await nats.connect(nats_url)
        now = [0.0]
        try:
            lease = KvLease(nc.jetstream(), bucket=f"locks_{uuid.uuid4().hex[:8]}", ttl=30,
                            margin=5, clock=lambda: now[0])
            async with lease:
                now[0] = 24.0
                await lease.ensure_held()  # renewed at 24: proven until 54
                update = lease._kv.update

                async def paused(*args: Any, **kwargs: Any) -> int:
                    now[0] += 25.5
                    return int(await update(*args, **kwargs))

                lease._kv.update = paused
                with pytest.raises(LeaseLost):
                    await lease.ensure_held()  # renewed at 24 again, done at 49.5
        finally:
            await nc.close()


class TestShortLease:
    async def test_a_live_holder_keeps_its_lease_however_long_it_holds_it(
        self, nats_url: str
    ) -> None:
        """The holder renews its lease in the background: held for 2.5 TTLs, nobody
        else gets it, the holder can still commit, and on release the next one gets it."""
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            bucket = f"locks_{uuid.uuid4().hex[:8]}"
            holder, other = KvLease(js, bucket=bucket, ttl=TTL), KvLease(js, bucket=bucket,
                                                                         ttl=TTL)
            async with holder:
                waiting = asyncio.create_task(other.__aenter__())
                await asyncio.sleep(2.5 * TTL)
                assert not waiting.done()
                await holder.ensure_held()
            await asyncio.wait_for(waiting, 5)
            await other.ensure_held()
            await other.__aexit__(None, None, None)
        finally:
            await nc.close()

    async def test_a_dead_holders_lease_is_taken_within_the_ttl(self, nats_url: str) -> None:
        """A holder whose process dies (its connection gone, nothing released) costs the
        next writer at most the TTL, and can never commit again."""
        dead_nc, nc = await nats.connect(nats_url), await nats.connect(nats_url)
        try:
            bucket = f"locks_{uuid.uuid4().hex[:8]}"
            ttl = 2.0
            dead = KvLease(dead_nc.jetstream(), bucket=bucket, ttl=ttl)
            await dead.__aenter__()
            await asyncio.sleep(ttl / 2)  # a renewal or two while alive
            await dead_nc.close()
            died = time.monotonic()
            async with KvLease(nc.jetstream(), bucket=bucket, ttl=ttl) as taker:
                waited = time.monotonic() - died
                await taker.ensure_held()
            # The bound is the TTL (a renewal may have just happened); the slack is for
            # a loaded machine, not for the lease.
            assert waited < ttl + 1.5, waited
            with pytest.raises(LeaseLost):
                await dead.ensure_held()
        finally:
            await nc.close()

    async def test_a_bucket_with_a_longer_ttl_is_shortened(self, nats_url: str) -> None:
        """A lease bucket made by an earlier release (30 s) is taken over, not refused,
        and its keys then expire after the short TTL."""
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            bucket = f"locks_{uuid.uuid4().hex[:8]}"
            await js.create_key_value(bucket=bucket, ttl=30)
            async with KvLease(js, bucket=bucket, ttl=2.0) as lease:
                await lease.ensure_held()
            info = await js.stream_info(f"KV_{bucket}")
            assert info.config.max_age == pytest.approx(2.0)
        finally:
            await nc.close()
