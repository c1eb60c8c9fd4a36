"""Latest names of templates, campaigns, workflows and sequences (`entity_names`).

An endpoint learns which entities it names (its top rows) only from its counts. Waiting
for them and then reading the names costs a round trip more (4-8 ms through chDB), so an
endpoint reads all of its tenant's names of the kind beside its counts (`all_names`) and
picks from them (`latest_names`); a tenant with more than `ALL_NAMES_LIMIT` entities of
the kind has only the listed ones read, after.
"""

from __future__ import annotations

from collections.abc import Collection

from chanalytics.clickhouse.storage import Storage
from chanalytics.query.sql import Select

ALL_NAMES_LIMIT = 2000

Names = dict[str, str | None]

# The latest name of each entity of one kind (by event time, then event id); NULL when no
# event carried one. `ids` empty: every entity of the kind, up to `limit` of them.
NAMES_SQL = Select(
    columns=["entity_id", "argMaxMerge(name) AS name"], source="entity_names",
    where=["tenant_id = {tenant:String}", "entity_kind = {kind:String}",
           "empty({ids:Array(String)}) OR entity_id IN {ids:Array(String)}"],
    group_by="entity_id", limit="{limit:UInt32}",
).sql()


async def all_names(
    storage: Storage, tenant_id: str, kind: str, *, limit: int = ALL_NAMES_LIMIT
) -> Names | None:
    """id → latest name of every entity of `kind`, or None when there are over `limit`."""
    rows = await storage.query(NAMES_SQL, {
        "tenant": tenant_id, "kind": kind, "ids": [], "limit": limit + 1})
    if len(rows) > limit:
        return None
    return {entity_id: name for entity_id, name in rows}


async def latest_names(
    storage: Storage, tenant_id: str, kind: str, ids: Collection[str],
    known: Names | None = None,
) -> Names:
    """id → its latest name (None when no event carried one) for the listed ids of `kind`,
    from `known` (`all_names`) when given."""
    if known is None:
        if not ids:
            return {}
        rows = await storage.query(NAMES_SQL, {
            "tenant": tenant_id, "kind": kind, "ids": sorted(ids), "limit": len(ids)})
        known = {entity_id: name for entity_id, name in rows}
    return {entity_id: known.get(entity_id) for entity_id in ids}
