"""The replicated cluster DDL cannot run here (no ClickHouse Keeper), so ClickHouse's own
parser checks every statement of it: `formatQuery` parses each one as the server would."""

from __future__ import annotations

import pytest

from chanalytics.clickhouse.cluster import Layout
from chanalytics.clickhouse.storage import Storage, migration_statements, schema_files

pytestmark = [pytest.mark.clickhouse, pytest.mark.once]


@pytest.mark.parametrize("replicated", [True, False])
def test_every_cluster_statement_parses(storage: Storage, replicated: bool) -> None:
    layout = Layout("chanalytics", "shop", replicated)
    statements = layout.databases() + [
        s for path in schema_files() for s in migration_statements(path, layout, 730)]
    engines: set[str] = set()
    for statement in statements:
        [(formatted,)] = storage.query_sync("SELECT formatQuery({sql:String})",
                                            {"sql": statement.sql})
        assert ("ON CLUSTER shop" in formatted) is replicated, formatted[:200]
        engines.update(word for word in formatted.replace("(", " ").split()
                       if word.endswith("MergeTree") or word == "Distributed")
    expected = {"Distributed", "MergeTree", "AggregatingMergeTree", "ReplacingMergeTree"}
    if replicated:  # the shard tables replicate; the writer's node-local ones do not
        expected |= {"ReplicatedMergeTree", "ReplicatedAggregatingMergeTree",
                     "ReplicatedReplacingMergeTree"}
        expected -= {"AggregatingMergeTree", "ReplacingMergeTree"}
    assert engines == expected
