"""Latest names of templates, campaigns, workflows and sequences.

An endpoint learns which entities it names (its top rows) only from its counts. Waiting
for them and then reading the names costs a round trip more (4-8 ms through chDB), so an
endpoint reads all of its tenant's names of the kind beside its counts (`all_names`) and
picks from them (`latest_names`); a tenant with more than `ALL_NAMES_LIMIT` entities of
the kind has only the listed ones read, after.
"""

from __future__ import annotations

from collections.abc import Collection

from chanalytics.query.statements import statement
from chanalytics.storage import Storage

ALL_NAMES_LIMIT = 2000

Names = dict[str, str | None]


async def all_names(
    storage: Storage, tenant_id: str, kind: str, *, limit: int = ALL_NAMES_LIMIT
) -> Names | None:
    """id → latest name of every entity of `kind`, or None when there are over `limit`."""
    rows = await storage.query(statement("entity_names"), {
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
        known = await _listed_names(storage, tenant_id, kind, ids)
    return {entity_id: known.get(entity_id) for entity_id in ids}


async def _listed_names(
    storage: Storage, tenant_id: str, kind: str, ids: Collection[str]
) -> Names:
    rows = await storage.query(statement("entity_names"), {
        "tenant": tenant_id, "kind": kind, "ids": sorted(ids), "limit": len(ids)})
    return {entity_id: name for entity_id, name in rows}
