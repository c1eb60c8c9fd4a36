"""Latest names of templates, campaigns, workflows and sequences."""

from __future__ import annotations

from collections.abc import Collection

from chanalytics.query.statements import statement
from chanalytics.storage import Storage


async def latest_names(
    storage: Storage, tenant_id: str, kind: str, ids: Collection[str]
) -> dict[str, str | None]:
    """id → its latest name (None when no event carried one) for the listed ids of `kind`."""
    if not ids:
        return {}
    rows = await storage.query(
        statement("entity_names"), {"tenant": tenant_id, "kind": kind, "ids": sorted(ids)}
    )
    found: dict[str, str | None] = {entity_id: name for entity_id, name in rows}
    return {entity_id: found.get(entity_id) for entity_id in ids}
