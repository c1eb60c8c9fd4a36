"""The storage module against a real ClickHouse: migrations and a round trip."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from chanalytics.rows import COLUMNS, AnalyticsRow
from chanalytics.storage import Storage, StorageUnavailable, schema_dir

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
        assert {"analytics_events", "event_ids", "message_counts_15m", "message_counts_1d",
                "message_key_buckets",
                "distinct_chain_15m",
                "campaign_message_counts_15m", "template_message_counts_15m",
                "template_message_counts_1d", "campaign_message_counts_1d",
                "campaign_message_series_15m", "workflow_run_counts_1d",
                "workflow_run_series_15m",
                "lifecycle_counts_15m", "enrollment_replies_15m", "enrollment_states",
                "entity_names"} <= names


    def test_staging_tables_match_the_raw_table(self, storage: Storage) -> None:
        """ingest_staging/ingest_ready repeat analytics_events' columns (plus batch and
        staged_at); a column added to one and not the others would break the move."""
        def columns(table: str) -> list[tuple[str, str]]:
            return [(n, t) for n, t in storage.query_sync(
                "SELECT name, type FROM system.columns WHERE database = {db:String} "
                "AND table = {t:String} ORDER BY position", {"db": storage.database, "t": table})]

        raw = columns("analytics_events")
        for table in ("ingest_staging", "ingest_ready"):
            assert columns(table) == [("batch", "String"), ("staged_at", "DateTime"), *raw]
        row_fields = {name for name, _ in raw} - {"ingested_at"}
        assert row_fields == set(COLUMNS)


class TestBackfill:
    def test_upgrade_fills_the_newer_rollups_once(
        self, clickhouse_dsn: str, tmp_path: Path
    ) -> None:
        """An install made before the daily message, template, campaign and workflow rollups, the
        campaign and workflow series rollups and the key chains gets their history from the
        15-minute rollups on upgrade; events after it arrive through the views; a second
        migrate inserts nothing."""
        store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
        store.connect()
        try:
            old = tmp_path / "schema"
            old.mkdir()
            for path in schema_dir().glob("[0-9]*.sql"):
                if path.name < "0022":
                    shutil.copy(path, old / path.name)
            store.migrate(raw_ttl_days=3650, directory=old)

            def insert(first: int, day: int) -> None:
                rows = [AnalyticsRow(id=f"e{first + i}", tenant_id=f"t{i % 2}",
                                     event_type=("message_sent", "message_delivered")[i % 2],
                                     entity_type="message", entity_id=f"m{i}",
                                     channel=("email", "sms")[i % 4 // 2],
                                     template_id=f"tpl{i % 3}", campaign_id=f"c{i % 5}",
                                     occurred_at=datetime(2026, 1, day, i % 24, tzinfo=UTC))
                        for i in range(40)]
                rows += [AnalyticsRow(id=f"w{first + i}", tenant_id=f"t{i % 2}",
                                      event_type=("workflow_run_started",
                                                  "workflow_run_completed")[i % 2],
                                      entity_type="workflow", entity_id=f"run{i // 2}",
                                      workflow_id=f"wf{i % 3}", status=("", "failed")[i % 2],
                                      occurred_at=datetime(2026, 1, day, i % 24, tzinfo=UTC))
                         for i in range(40)]
                rows += [AnalyticsRow(id=f"c{first + i}", tenant_id=f"t{i % 2}",
                                      event_type=("campaign_started", "campaign_completed")[i % 2],
                                      entity_type="campaign", entity_id=f"c{i % 5}",
                                      campaign_id=f"c{i % 5}", channel=("", "email")[i % 2],
                                      occurred_at=datetime(2026, 1, day, i % 24, tzinfo=UTC))
                         for i in range(10)]
                store.insert_json_sync("analytics_events", COLUMNS,
                                       msgspec.json.Encoder().encode_lines(rows))

            insert(0, 20)
            insert(100, 21)
            opens = [AnalyticsRow(id=f"o{i}", tenant_id="t0", event_type="message_opened",
                                  entity_type="message", entity_id=f"m{i % 7}", channel="email",
                                  occurred_at=datetime(2026, 1, 20 + i % 3, i % 24, tzinfo=UTC))
                     for i in range(30)]
            store.insert_json_sync("analytics_events", COLUMNS,
                                   msgspec.json.Encoder().encode_lines(opens))
            store.migrate(raw_ttl_days=3650)
            insert(200, 21)
            store.migrate(raw_ttl_days=3650)
            same = {
                "template_message_counts_1d": (
                    "SELECT tenant_id, day, template_id, event_type, sum(events)",
                    "SELECT tenant_id, toDate(bucket) AS d, template_id, event_type, sum(events) "
                    "FROM template_message_counts_15m"),
                "campaign_message_counts_1d": (
                    "SELECT tenant_id, day, campaign_id, channel, event_type, sum(events)",
                    "SELECT tenant_id, toDate(bucket) AS d, campaign_id, channel, event_type, "
                    "sum(events) FROM campaign_message_counts_15m"),
                "campaign_message_series_15m": (
                    "SELECT tenant_id, bucket, channel, event_type, sum(events)",
                    "SELECT tenant_id, bucket, channel, event_type, sum(events) "
                    "FROM campaign_message_counts_15m WHERE event_type LIKE 'message%'"),
                "workflow_run_counts_1d": (
                    "SELECT tenant_id, day, workflow_id, event_type, status, sum(events)",
                    "SELECT tenant_id, toDate(bucket) AS d, parent_id, event_type, status, "
                    "sum(events) FROM lifecycle_counts_15m WHERE event_type LIKE 'workflow%'"),
                "workflow_run_series_15m": (
                    "SELECT tenant_id, bucket, event_type, status, sum(events)",
                    "SELECT tenant_id, bucket, event_type, status, sum(events) "
                    "FROM lifecycle_counts_15m WHERE event_type LIKE 'workflow%'"),
            }
            for table, (select, source) in same.items():
                derived = store.query_sync(f"{select} FROM {table} GROUP BY ALL ORDER BY ALL")
                assert derived == store.query_sync(f"{source} GROUP BY ALL ORDER BY ALL"), table
                # 120 message or workflow events each; campaign lifecycle rows: see below
                events = [row for row in derived if not str(row[-2]).startswith("campaign_")]
                assert sum(row[-1] for row in events) == 120, table
            # every message event (opens too) by day, since 0053
            by_day = store.query_sync(
                "SELECT tenant_id, day, channel, event_type, sum(events) FROM message_counts_1d "
                "GROUP BY ALL ORDER BY ALL")
            assert by_day == store.query_sync(
                "SELECT tenant_id, toDate(bucket) AS d, channel, event_type, sum(events) "
                "FROM message_counts_15m GROUP BY ALL ORDER BY ALL")
            assert sum(row[-1] for row in by_day) == 120 + len(opens)
            # campaign lifecycle events, in the campaign message rollups since 0049, under
            # an empty channel whatever the event's
            kept = {
                "campaign_message_counts_15m": (
                    "SELECT tenant_id, bucket, campaign_id, channel, event_type, sum(events) "
                    "FROM campaign_message_counts_15m",
                    "SELECT tenant_id, bucket, parent_id, '', event_type, sum(events) "
                    "FROM lifecycle_counts_15m"),
                "campaign_message_counts_1d": (
                    "SELECT tenant_id, day, campaign_id, channel, event_type, sum(events) "
                    "FROM campaign_message_counts_1d",
                    "SELECT tenant_id, toDate(bucket) AS d, parent_id, '', event_type, "
                    "sum(events) FROM lifecycle_counts_15m"),
            }
            only = " WHERE event_type LIKE 'campaign%' GROUP BY ALL ORDER BY ALL"
            for table, (mine, source) in kept.items():
                got = store.query_sync(mine + only)
                assert got == store.query_sync(source + only), table
                assert sum(row[-1] for row in got) == 30, table
            # the key chains, from the keys of the old distinct rollup
            for first_day in (20, 21, 22):
                start = datetime(2026, 1, first_day, tzinfo=UTC)
                chained = store.query_sync(
                    "SELECT sum(keys) FROM distinct_chain_15m WHERE level = 'all' "
                    "AND metric = 'opened' AND bucket >= {a:DateTime('UTC')} "
                    "AND prev_bucket < {a:DateTime('UTC')}", {"a": start})
                assert chained == [(len({o.entity_id for o in opens
                                         if o.occurred_at >= start}),)]
        finally:
            store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
            store.close()


class TestRoundTrip:
    async def test_row_inserted_is_read_back(self, storage: Storage) -> None:
        """A row written through the storage module is read back, and feeds the rollup."""
        at = datetime(2026, 1, 20, 10, 15, 30, 123000, tzinfo=UTC)
        row = AnalyticsRow(id="e1", tenant_id="t1", event_type="message_sent",
                           entity_type="message", entity_id="m1", channel="email",
                           occurred_at=at, cost=0.25)
        body = msgspec.json.Encoder().encode_lines([row])
        assert await storage.insert_json("analytics_events", COLUMNS, body) == 1
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
                             occurred_at=datetime(2026, 1, 1, 0, i, tzinfo=UTC))
                for i in range(6)]
        body = msgspec.json.Encoder().encode_lines(rows)
        for _ in range(2):
            await storage.insert_json("analytics_events", COLUMNS, body, dedup_token="batch-1")
        assert await storage.query("SELECT count() FROM analytics_events") == [(6,)]
        assert await storage.query("SELECT sum(events) FROM message_counts_15m") == [(6,)]
        assert await storage.query(
            "SELECT uniqExact(key) FROM message_key_buckets WHERE metric = 'opened'") == [(2,)]

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
