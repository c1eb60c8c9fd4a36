"""The writer's recovery of batches a killed process left half done."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.writer import (
    MOVE_SQL,
    READY_SQL,
    BatchWriter,
    WriteResult,
    dedup_token,
)
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics

pytestmark = pytest.mark.clickhouse


def rows(n: int) -> list[AnalyticsRow]:
    return [AnalyticsRow(id=f"e{i}", tenant_id="t", event_type="message_sent",
                         entity_type="message", entity_id=f"m{i}", channel="email",
                         contact_id=f"c{i % 3}", campaign_id=f"k{i % 2}",
                         occurred_at=datetime(2026, 3, 1, 12, i, tzinfo=UTC)) for i in range(n)]


async def totals(storage: Storage) -> tuple[int, ...]:
    """Events in the raw table, the id index, a rollup and the three read models (whose
    rows carry the insert's instant: a retry stores at another one)."""
    return tuple([(await storage.query(sql))[0][0] for sql in (
        "SELECT count() FROM analytics_events",
        "SELECT count() FROM event_ids",
        "SELECT sum(events) FROM message_counts_15m",
        "SELECT sum(sent) FROM contact_hourly",
        "SELECT sum(sent) FROM campaign_daily",
        "SELECT sum(sent) FROM tenant_daily",
    )])


class TestRecovery:
    async def test_ready_batch_never_moved_is_moved(self, storage: Storage) -> None:
        """A batch killed after it was marked ready but before the move is stored once."""
        writer = BatchWriter(storage, Metrics())
        batch = rows(10)
        token = dedup_token(batch)
        await writer._stage(batch, token, WriteResult())
        await storage.command(READY_SQL, {"batch": token})
        await writer.recover()
        assert await totals(storage) == (10,) * 6
        assert await storage.query("SELECT count() FROM ingest_ready") == [(0,)]

    @pytest.mark.parametrize("lost", ["message_counts_15m", "contact_hourly", "campaign_daily",
                                      "tenant_daily"])
    async def test_move_that_reached_only_some_tables_is_completed(
        self, storage: Storage, lost: str
    ) -> None:
        """A move killed after the raw table but before a view committed is completed,
        without counting anything twice."""
        writer = BatchWriter(storage, Metrics())
        batch = rows(10)
        token = dedup_token(batch)
        await writer._stage(batch, token, WriteResult())
        await storage.command(READY_SQL, {"batch": token})
        await storage.command(MOVE_SQL, {"batch": token})
        # The kill: one view's part never made it; the others' did.
        await storage.command(f"TRUNCATE TABLE {lost}")
        await writer.recover()
        assert await totals(storage) == (10,) * 6
        # And the redelivered messages are then recognised as stored.
        result = await writer.write(batch)
        assert (result.stored, result.duplicates) == (0, 10)
        assert await totals(storage) == (10,) * 6

    async def test_staged_only_batch_is_forgotten(self, storage: Storage) -> None:
        """A batch killed before it was marked ready is dropped; its redelivery stores it."""
        writer = BatchWriter(storage, Metrics())
        batch = rows(5)
        await writer._stage(batch, dedup_token(batch), WriteResult())
        await writer.recover()
        assert await storage.query("SELECT count() FROM ingest_staging") == [(0,)]
        assert await totals(storage) == (0,) * 6
        result = await writer.write(batch)
        assert result.stored == 5
        assert await totals(storage) == (5,) * 6

    async def test_identical_batch_after_a_forgotten_one_is_staged_again(
        self, storage: Storage
    ) -> None:
        """Staging never drops a batch as a duplicate of an earlier, forgotten one."""
        writer = BatchWriter(storage, Metrics())
        batch = rows(5)
        for _ in range(2):
            await writer._stage(batch, dedup_token(batch), WriteResult())
            await writer.recover()
        assert (await writer.write(batch)).stored == 5
        assert await totals(storage) == (5,) * 6


class TestDuplicates:
    async def test_first_copy_of_an_id_wins_inside_a_batch(self, storage: Storage) -> None:
        """Two copies of one id with different timestamps in one batch: the first is stored."""
        late, early = (AnalyticsRow(id="same", tenant_id="t", event_type="message_sent",
                                    entity_type="message", entity_id="m", channel="email",
                                    occurred_at=datetime(2026, 3, 1, hour, tzinfo=UTC))
                       for hour in (14, 9))
        result = await BatchWriter(storage, Metrics()).write([late, early])
        assert (result.stored, result.duplicates) == (1, 1)
        assert await storage.query("SELECT toHour(occurred_at) FROM analytics_events") == [(14,)]

    async def test_stored_id_with_another_timestamp_is_a_duplicate(
        self, storage: Storage
    ) -> None:
        """An id already stored is skipped whatever timestamp the new copy carries."""
        writer = BatchWriter(storage, Metrics())
        await writer.write(rows(3))
        moved = [msgspec.structs.replace(r, occurred_at=datetime(2027, 1, 1, tzinfo=UTC))
                 for r in rows(3)]
        result = await writer.write([*moved, *rows(5)[3:]])
        assert (result.stored, result.duplicates) == (2, 3)
        assert await totals(storage) == (5,) * 6


class TestRollupCheck:
    async def test_drift_between_raw_and_rollup_is_reported(self, storage: Storage) -> None:
        """The periodic check finds no drift on consistent data and reports a lost rollup part."""
        from datetime import timedelta

        from chanalytics.ingest.drift import check_rollups

        metrics = Metrics()
        two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
        batch = [AnalyticsRow(id=f"d{i}", tenant_id="t", event_type="message_sent",
                              entity_type="message", entity_id=f"m{i}", channel="sms",
                              occurred_at=two_hours_ago) for i in range(3)]
        await BatchWriter(storage, metrics).write(batch)
        assert await check_rollups(storage, metrics) == 0
        await storage.command("TRUNCATE TABLE message_counts_15m")
        assert await check_rollups(storage, metrics) == 1
        assert metrics.rollup_drift.labels(table="message_counts_15m")._value.get() == 1
        assert metrics.rollup_checked._value.get() > 0  # when the check last completed


class TestStoreMetrics:
    async def test_a_commit_sets_store_time_and_the_batchs_event_times(
        self, storage: Storage
    ) -> None:
        """A batch dated 2019 to 2031 sets the commit time to now and the event-time
        extremes to the batch's; a batch of duplicates commits nothing and moves neither."""
        clock = [1_900_000_000.0]
        metrics = Metrics(clock=lambda: clock[0])
        writer = BatchWriter(storage, metrics)
        dated = [msgspec.structs.replace(r, occurred_at=datetime(year, 6, 1, tzinfo=UTC))
                 for r, year in zip(rows(3), (2031, 2019, 2026), strict=True)]
        await writer.write(dated)
        assert metrics.last_commit._value.get() == clock[0]
        june = [datetime(year, 6, 1, tzinfo=UTC).timestamp() for year in (2031, 2019)]
        assert metrics.event_time_newest._value.get() == june[0]
        assert metrics.event_time_oldest._value.get() == june[1]
        clock[0] += 42
        await writer.write(dated)  # all already stored
        assert metrics.last_commit._value.get() == clock[0] - 42
        assert metrics.registry.get_sample_value("chanalytics_ingest_freshness_seconds") == 42


class TestRejectedRow:
    async def test_rejected_row_is_isolated_and_the_rest_stored(self, storage: Storage) -> None:
        """A row ClickHouse refuses is reported; every other row of its batch is stored."""
        writer = BatchWriter(storage, Metrics())
        batch = rows(6)
        # A value ClickHouse cannot parse into UInt64 (the mappers never produce it).
        bad = AnalyticsRow(id="bad", tenant_id="t", event_type="message_delivered",
                           entity_type="message", entity_id="mx", channel="email",
                           duration_ms=-1, occurred_at=datetime(2026, 3, 1, 13, tzinfo=UTC))
        result = await writer.write([*batch[:3], bad, *batch[3:]])
        assert [row.id for row, _ in result.rejected] == ["bad"]
        assert (result.stored, result.duplicates) == (6, 0)
        assert await totals(storage) == (6,) * 6
