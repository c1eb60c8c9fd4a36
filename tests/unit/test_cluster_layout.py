"""How schema files are placed on one server and on a cluster (`clickhouse/cluster.py`)."""

from __future__ import annotations

import pytest

from chanalytics.clickhouse.cluster import Layout, Statement
from chanalytics.clickhouse.storage import OneDatabase

TABLE = ("CREATE TABLE IF NOT EXISTS message_counts_15m\n(\n    tenant_id String\n)\n"
         "ENGINE = AggregatingMergeTree\nORDER BY tenant_id")
VIEW = ("CREATE MATERIALIZED VIEW IF NOT EXISTS message_counts_15m_mv TO message_counts_15m "
        "AS\nSELECT tenant_id FROM analytics_events")
STAGING = "CREATE TABLE IF NOT EXISTS ingest_ready AS ingest_staging"


def test_one_server_applies_the_files_as_written() -> None:
    assert Layout("db").statements(TABLE) == [Statement("db", TABLE)]
    assert Layout("db").databases() == [Statement("db", "CREATE DATABASE IF NOT EXISTS `db`")]


def test_storage_default_places_the_schema_as_a_one_server_layout() -> None:
    """Storage's own placement (it imports no cluster) is the layout without a cluster."""
    for ddl in (TABLE, VIEW, STAGING):
        assert OneDatabase("db").statements(ddl) == Layout("db").statements(ddl)
    assert OneDatabase("db").databases() == Layout("db").databases()
    assert OneDatabase("db").client_settings == Layout("db").client_settings


def test_sharded_tables_get_a_distributed_front_and_views_stay_on_the_shard() -> None:
    layout = Layout("db", "shop")
    local, front = layout.statements(TABLE)
    assert local == Statement("db_local", TABLE)
    assert front == Statement("db", (
        "CREATE TABLE IF NOT EXISTS `db`.`message_counts_15m` AS `db_local`.`message_counts_15m` "
        "ENGINE = Distributed(`shop`, `db_local`, `message_counts_15m`, cityHash64(tenant_id))"))
    assert layout.statements(VIEW) == [Statement("db_local", VIEW)]
    assert layout.statements(STAGING) == [Statement("db", STAGING)]  # the writer's node


def test_replicated_adds_on_cluster_and_the_replicated_engine() -> None:
    layout = Layout("db", "shop", replicated=True)
    local, front = layout.statements(TABLE)
    assert local.sql.startswith("CREATE TABLE IF NOT EXISTS message_counts_15m ON CLUSTER `shop`\n")
    assert ("ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/"
            "{table}', '{replica}')\nORDER BY tenant_id") in local.sql
    assert " ON CLUSTER `shop` AS " in front.sql
    [view] = layout.statements(VIEW)
    assert view.sql.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS message_counts_15m_mv "
                               "ON CLUSTER `shop` TO ")
    assert all(" ON CLUSTER `shop`" in s.sql for s in layout.databases())
    versioned, _ = layout.statements(TABLE.replace("AggregatingMergeTree",
                                                   "ReplacingMergeTree(updated_at)"))
    assert ("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
            "'{replica}', updated_at)\n") in versioned.sql


def test_unexpected_statements_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unexpected schema statement"):
        Layout("db", "shop").statements("DROP TABLE x")
    with pytest.raises(ValueError, match="no MergeTree engine"):
        Layout("db", "shop", True).statements("CREATE TABLE IF NOT EXISTS t (a UInt8) "
                                              "ENGINE = Memory")
    with pytest.raises(ValueError, match="identifier"):
        Layout("db", "shop; DROP")
    with pytest.raises(ValueError, match="cluster name"):
        Layout("db", replicated=True)


def test_an_alter_changes_the_shard_tables_only() -> None:
    alter = "ALTER TABLE analytics_events MATERIALIZE PROJECTION by_campaign"
    assert Layout("db").statements(alter) == [Statement("db", alter)]
    assert Layout("db", "shop").statements(alter) == [Statement("db_local", alter)]
    [replicated] = Layout("db", "shop", replicated=True).statements(alter)
    assert replicated == Statement(
        "db_local", "ALTER TABLE analytics_events ON CLUSTER `shop` MATERIALIZE PROJECTION "
        "by_campaign")
