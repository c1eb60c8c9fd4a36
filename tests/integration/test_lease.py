"""The insert lease across writers: a holder that stalls past its lease never commits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
import pytest

from chanalytics.ingest.lease import KvLease, LeaseLost
from chanalytics.ingest.writer import ALREADY_STORED_SQL, BatchWriter
from chanalytics.metrics import Metrics
from chanalytics.rows import AnalyticsRow
from chanalytics.storage import Storage

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

    async def test_a_lease_near_its_end_refuses_to_commit(self, nats_url: str) -> None:
        """Within `margin` of the lease's proven end, a commit may not start."""
        nc = await nats.connect(nats_url)
        now = [0.0]
        try:
            lease = KvLease(nc.jetstream(), bucket=f"locks_{uuid.uuid4().hex[:8]}", ttl=30,
                            margin=5, clock=lambda: now[0])
            async with lease:
                now[0] = 24.0
                await lease.ensure_held()
                now[0] = 25.5
                with pytest.raises(LeaseLost):
                    await lease.ensure_held()
        finally:
            await nc.close()
