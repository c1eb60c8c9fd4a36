"""The storage module against a real ClickHouse: migrations and a round trip."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from chanalytics.clickhouse.storage import (
    SchemaMismatch,
    Storage,
    StorageUnavailable,
    schema_dir,
    schema_files,
)
from chanalytics.mappers.rows import COLUMNS, AnalyticsRow
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.model import Filter, Query

pytestmark = pytest.mark.clickhouse


def _schema(storage: Storage) -> list[tuple[str, str]]:
    return [
        (name, ddl)
        for name, ddl in storage.query_sync(
            "SELECT name, create_table_query FROM system.tables WHERE database = {db:String} "
            "ORDER BY name", {"db": storage.database})
    ]


class TestMigrations:
    def test_migrate_twice_leaves_the_same_schema(self, storage: Storage) -> None:
        """Running the migrations again applies nothing and changes no table."""
        before = _schema(storage)
        assert storage.migrate(raw_ttl_days=3650) == []
        assert _schema(storage) == before
        versions = [r[0] for r in storage.query_sync("SELECT version FROM schema_migrations")]
        files = sorted(p.name[:4] for p in schema_dir().glob("[0-9]*.sql"))
        assert sorted(versions) == files

    def test_every_rollup_exists(self, storage: Storage) -> None:
        """The raw table, the id index and every rollup are created."""
        names = {name for name, _ in _schema(storage)}
        tables = {"analytics_events", "event_ids", "ingest_staging", "ingest_ready",
                  "message_counts_15m", "message_counts_1d", "entity_message_counts_1d",
                  "campaign_message_counts_15m", "lifecycle_counts_15m", "lifecycle_counts_1d",
                  "distinct_keys_15m", "distinct_keys_1d", "enrollment_states", "entity_names",
                  "delivery_latency_15m", "delivery_latency_1d", "suppression_events",
                  "tenant_freshness", "contact_hourly", "campaign_daily", "tenant_daily",
                  "budgets", "api_requests"}
        own = {"alert_rules", "alerts", "alert_deliveries",  # written by the API, no view
               "report_definitions", "report_runs", "report_files",
               "rollup_checks"}  # written by the drift check
        views = {f"{t}_mv" for t in tables - {"analytics_events", "ingest_staging",
                                                "ingest_ready", "budgets", "api_requests"}}
        tables |= own
        assert names == tables | views | {"schema_migrations"}


    def test_staging_tables_match_the_raw_table(self, storage: Storage) -> None:
        """ingest_staging/ingest_ready repeat analytics_events' columns (plus batch and
        staged_at); a column added to one and not the others would break the move."""
        def columns(table: str) -> list[tuple[str, str]]:
            return [(n, t) for n, t in storage.query_sync(
                "SELECT name, type FROM system.columns WHERE database = {db:String} "
                "AND table = {t:String} ORDER BY position", {"db": storage.database, "t": table})]

        raw = columns("analytics_events")
        for table in ("ingest_staging", "ingest_ready"):
            assert columns(table) == [("batch", "String"), ("staged_at", "DateTime"),
                                      *(c for c in raw if c[0] != "ingested_at")]
        row_fields = {name for name, _ in raw} - {"ingested_at"}
        assert row_fields == set(COLUMNS)


class TestEarlierHistory:
    def test_database_of_an_earlier_schema_is_refused_unchanged(
        self, clickhouse_dsn: str, tmp_path: Path
    ) -> None:
        """A database migrated by the development schema before the baseline (its 0001…0055
        had other names) is refused with a clear message, and nothing in it changes."""
        store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
        store.connect()
        try:
            store.command_sync(
                "CREATE TABLE schema_migrations (version String, name String, "
                "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree "
                "ORDER BY version")
            for version, name in (("0001", "0001_create_analytics_events"),
                                  ("0040", "0040_create_distinct_chain_15m")):
                store.command_sync("INSERT INTO schema_migrations (version, name) "
                                   "VALUES ({v:String}, {n:String})", {"v": version, "n": name})
            store.command_sync("CREATE TABLE distinct_chain_15m (x UInt8) ENGINE = MergeTree "
                               "ORDER BY x")
            before = _schema(store)
            foreign = "0040 0040_create_distinct_chain_15m"
            with pytest.raises(SchemaMismatch, match=foreign) as error:
                store.migrate(raw_ttl_days=3650)
            assert "Nothing was changed" in str(error.value)
            assert "CHANALYTICS_CLICKHOUSE_DATABASE" in str(error.value)
            assert _schema(store) == before
        finally:
            store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
            store.close()

    def test_a_renamed_baseline_file_is_refused(self, storage: Storage, tmp_path: Path) -> None:
        """A recorded version whose file now has another name is another history too."""
        copy = tmp_path / "schema"
        shutil.copytree(schema_dir(), copy)
        first = sorted(copy.glob("0001_*.sql"))[0]
        first.rename(copy / "0001_create_something_else.sql")
        with pytest.raises(SchemaMismatch):
            storage.migrate(raw_ttl_days=3650, directory=copy)


class TestRoundTrip:
    async def test_row_inserted_is_read_back(self, storage: Storage) -> None:
        """A row written through the storage module is read back, and feeds the rollup."""
        at = datetime(2026, 1, 20, 10, 15, 30, 123000, tzinfo=UTC)
        row = AnalyticsRow(id="e1", tenant_id="t1", event_type="message_sent",
                           entity_type="message", entity_id="m1", channel="email",
                           occurred_at=at, cost=0.25)
        body = msgspec.json.Encoder().encode_lines([row])
        await storage.insert_json("analytics_events", COLUMNS, body)
        got = await storage.query(
            "SELECT id, tenant_id, channel, occurred_at, cost FROM analytics_events "
            "WHERE tenant_id = {t:String}", {"t": "t1"})
        assert len(got) == 1
        assert got[0][0:3] == ("e1", "t1", "email")
        assert got[0][3].replace(tzinfo=UTC) == at
        assert got[0][4] == 0.25
        rollup = await storage.query(
            "SELECT bucket, channel, event_type, sum(events) FROM message_counts_15m "
            "GROUP BY ALL")
        assert rollup[0][1:] == ("email", "message_sent", 1)

    async def test_retried_batch_counts_once(self, storage: Storage) -> None:
        """A batch inserted twice with the same token is stored once, in raw and rollups."""
        rows = [AnalyticsRow(id=f"e{i}", tenant_id="t1", event_type="message_opened",
                             entity_type="message", entity_id=f"m{i % 2}", channel="sms",
                             contact_id=f"c{i % 3}",
                             occurred_at=datetime(2026, 1, 1, 0, i, tzinfo=UTC))
                for i in range(6)]
        body = msgspec.json.Encoder().encode_lines(rows)
        for _ in range(2):
            await storage.insert_json("analytics_events", COLUMNS, body, dedup_token="batch-1")
        assert await storage.query("SELECT count() FROM analytics_events") == [(6,)]
        assert await storage.query("SELECT sum(events) FROM message_counts_15m") == [(6,)]
        # The retry is stored at another instant: the read model keyed by it still skips it.
        assert await storage.query("SELECT sum(opened) FROM contact_hourly") == [(6,)]
        assert await storage.query(
            "SELECT uniqExact(key) FROM distinct_keys_15m "
            "WHERE kind = 'message' AND event_type = 'message_opened'") == [(2,)]

    async def test_far_future_event_is_kept(self, storage: Storage) -> None:
        """The latest accepted timestamp plus the longest TTL does not expire the row on insert."""
        row = AnalyticsRow(id="late", tenant_id="t1", event_type="message_sent",
                           entity_type="message", entity_id="m1",
                           occurred_at=datetime(2105, 12, 31, 23, 59, tzinfo=UTC))
        await storage.insert_json("analytics_events", COLUMNS,
                                  msgspec.json.Encoder().encode_lines([row]))
        assert await storage.query("SELECT count() FROM analytics_events") == [(1,)]

    async def test_ping(self, storage: Storage) -> None:
        """A connected storage answers a ping."""
        assert await storage.ping()


class TestClosed:
    async def test_closed_storage_is_unavailable(self, clickhouse_dsn: str) -> None:
        """A query on a closed storage raises StorageUnavailable (an API 503), not a crash."""
        store = Storage(clickhouse_dsn, "test_closed")
        store.connect()
        store.close()
        with pytest.raises(StorageUnavailable):
            await store.query("SELECT 1")
        assert not await store.ping()


class TestCampaignProjection:
    async def test_events_stored_before_it_answer_the_same_after_it_is_built(
        self, clickhouse_dsn: str, tmp_path: Path
    ) -> None:
        """A database stored before schema 0049 gets the campaign projection: a campaign's
        numbers are the same before the upgrade, right after it (parts not yet rebuilt are
        read from the table) and once 0050's background build is done."""
        earlier = tmp_path / "schema"
        earlier.mkdir()
        for path in schema_files():
            if path.name < "0049":
                shutil.copy(path, earlier / path.name)
        store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
        store.connect()
        try:
            store.migrate(raw_ttl_days=3650, directory=earlier)
            types = ("message_sent", "message_delivered", "message_opened", "message_opened")
            rows = [AnalyticsRow(id=f"e{i}", tenant_id="t1", event_type=types[i % 4],
                                 entity_type="message", entity_id=f"m{i // 4}",
                                 channel="email", contact_id=f"c{i // 8}",
                                 campaign_id=f"cmp-{i % 3}",
                                 occurred_at=datetime(2026, 1, 1 + i % 20, 9, i % 60, tzinfo=UTC))
                    for i in range(240)]
            for n in range(3):  # three parts
                await store.insert_json("analytics_events", COLUMNS,
                                        msgspec.json.Encoder().encode_lines(rows[n::3]))
            expected = {"sent": sum(1 for r in rows if r.campaign_id == "cmp-1"
                                    and r.event_type == "message_sent"),
                        "opened": len({r.entity_id for r in rows if r.campaign_id == "cmp-1"
                                       and r.event_type == "message_opened"})}
            assert await _campaign_numbers(store) == expected
            assert store.migrate(raw_ttl_days=3650) == ["0049", "0050"]
            assert await _campaign_numbers(store) == expected
            deadline = time.monotonic() + 60
            pending = ("SELECT count() FROM system.mutations WHERE database = {db:String} "
                       "AND NOT is_done")
            while await store.query(pending, {"db": store.database}) != [(0,)]:
                assert time.monotonic() < deadline, "the projection's build did not end"
                await asyncio.sleep(0.2)
            built = await store.query(
                "SELECT count() FROM system.projection_parts WHERE database = {db:String} "
                "AND table = 'analytics_events' AND name = 'by_campaign' AND active",
                {"db": store.database})
            assert built[0][0] >= 1
            assert await _campaign_numbers(store) == expected
        finally:
            store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
            store.close()


async def _campaign_numbers(store: Storage) -> dict[str, int]:
    """Sends and distinct opened messages of campaign cmp-1 in January, through the engine
    (a query naming its campaign: the raw table, through the projection once it exists)."""
    window = TimeWindow(start=datetime(2026, 1, 1, tzinfo=UTC),
                        end=datetime(2026, 2, 1, tzinfo=UTC), tz=ZoneInfo("UTC"), tz_name="UTC")
    query = Query(tenant_id="t1", window=window, measures=("sent", "opened"),
                  filters=(Filter("campaign", "is", ("cmp-1",)),))
    [row] = (await Engine(store).run(query)).groups[()]
    return {"sent": row.values["sent"], "opened": row.values["opened"]}
