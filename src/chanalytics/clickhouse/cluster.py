"""The cluster layout of the schema: the same DDL files, placed on shards.

On one server every file is applied as written in the service's database. On a cluster
(`migrate --cluster NAME`, or `CHANALYTICS_CLICKHOUSE_CLUSTER`):

- every file is applied *unchanged* in the shard database `<database>_local`: there the
  tables hold each shard's own rows and the materialized views read the shard's own
  `analytics_events`, so a view fires on the shard the event was stored on;
- each table gets a `Distributed` table of the same name in the service's database,
  sharded by `cityHash64(tenant_id)`: a tenant lives on one shard, so every query (each
  reads one tenant) and every join or subquery of two tables stays on that shard (a
  service-wide table without tenants, `OWN_SHARDING_KEYS`, by a column of its own);
- an `ALTER TABLE` (a projection added to a table) changes the shards' tables: the
  `Distributed` table of the same name holds no rows of its own;
- the ingest writer's `ingest_staging` / `ingest_ready` stay node-local tables in the
  service's database: a batch is staged on the node its writer is connected to and moved
  into the `Distributed` `analytics_events`, which sends each shard its tenants' rows
  (synchronously, with the batch's de-duplication token).

`replicated=True` (a cluster with ClickHouse Keeper) adds `ON CLUSTER` to every statement,
so one `migrate` creates the objects on every node, and turns each shard table's engine into
its `Replicated*` variant; without Keeper (`replicated=False`, verified here with several
local servers as shards) `migrate` is run against each node.

The only edits to a file's text are that engine name and the `ON CLUSTER` clause after the
object's name, both matched exactly; anything else in an unexpected shape is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from chanalytics.clickhouse.storage import Statement

# Tables the ingest writer keeps on the node it is connected to.
NODE_LOCAL_TABLES = frozenset({"ingest_staging", "ingest_ready"})
SHARDING_KEY = "cityHash64(tenant_id)"
# Service-wide tables, which have no tenant: sharded by a column of their own (a reader
# of the Distributed table sees every shard's rows).
OWN_SHARDING_KEYS = {"rollup_checks": "cityHash64(checker)"}
# Settings of every statement on a cluster: a subquery or join of two Distributed tables
# reads each shard's own tables (right, because both sides are sharded by tenant), and an
# insert into a Distributed table returns once every shard has stored its rows.
CLIENT_SETTINGS = {"distributed_product_mode": "local", "distributed_foreground_insert": 1}

_HEADER = re.compile(
    r"\A(?:CREATE (?P<kind>TABLE|MATERIALIZED VIEW) IF NOT EXISTS|ALTER TABLE) "
    r"(?P<name>[a-z][a-z0-9_]*)\b")
_ENGINE = re.compile(
    r"^ENGINE = (?P<engine>(?:Aggregating|Replacing)?MergeTree)(?:\((?P<args>[a-z_]+)\))?$",
    re.MULTILINE)
_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
# Where a shard's replicas keep a table's state in Keeper; {shard} and {replica} are the
# macros of each node's configuration.
REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


class Layout(msgspec.Struct, frozen=True):
    """Where the schema lives: one database, or shards of a cluster."""

    database: str
    cluster: str | None = None
    replicated: bool = False

    def __post_init__(self) -> None:
        for name in (self.database, self.cluster or "x"):
            if not _IDENTIFIER.match(name):
                raise ValueError(f"not a ClickHouse identifier: {name!r}")
        if self.replicated and not self.cluster:
            raise ValueError("a replicated layout needs a cluster name")

    @property
    def client_settings(self) -> Mapping[str, Any] | None:
        """What every client of this layout sends (`storage.Placement`)."""
        return CLIENT_SETTINGS if self.cluster else None

    @property
    def shard_database(self) -> str:
        return f"{self.database}_local"

    def databases(self) -> list[Statement]:
        """CREATE DATABASE statements, run before any migration."""
        names = [self.database] + ([self.shard_database] if self.cluster else [])
        return [Statement(name, f"CREATE DATABASE IF NOT EXISTS `{name}`{self._on_cluster()}")
                for name in names]

    def statements(self, ddl: str) -> list[Statement]:
        """The statements one schema file becomes in this layout."""
        ddl = ddl.strip()
        if not self.cluster:
            return [Statement(self.database, ddl)]
        header = _HEADER.match(ddl)
        if header is None:
            raise ValueError(f"unexpected schema statement: {ddl[:80]!r}")
        name = header["name"]
        kind: Literal["TABLE", "MATERIALIZED VIEW", None] = header["kind"]  # type: ignore[assignment]
        placed = ddl[:header.end()] + self._on_cluster() + ddl[header.end():]
        if name in NODE_LOCAL_TABLES:
            return [Statement(self.database, placed)]
        if kind is None or kind == "MATERIALIZED VIEW":  # an ALTER changes the shards' tables
            return [Statement(self.shard_database, placed)]
        if self.replicated:
            placed = self._replicated_engine(placed)
        distributed = (
            f"CREATE TABLE IF NOT EXISTS `{self.database}`.`{name}`{self._on_cluster()} "
            f"AS `{self.shard_database}`.`{name}` ENGINE = Distributed("
            f"`{self.cluster}`, `{self.shard_database}`, `{name}`, "
            f"{OWN_SHARDING_KEYS.get(name, SHARDING_KEY)})")
        return [Statement(self.shard_database, placed), Statement(self.database, distributed)]

    def _on_cluster(self) -> str:
        return f" ON CLUSTER `{self.cluster}`" if self.replicated else ""

    @staticmethod
    def _replicated_engine(ddl: str) -> str:
        engine = _ENGINE.search(ddl)
        if engine is None:
            raise ValueError(f"no MergeTree engine line in: {ddl[:80]!r}")
        args = f", {engine['args']}" if engine["args"] else ""  # a version column
        return (ddl[:engine.start()]
                + f"ENGINE = Replicated{engine['engine']}({REPLICA_PATH}{args})"
                + ddl[engine.end():])
