"""The compiler's part for `entity_names`: the latest name of each entity of one kind.

Every read of names is built here — the lookup an endpoint runs (`names_statement`,
through `Engine.all_names` / `Engine.latest_names`), the search a `contains` filter makes
(`compiler.filter_sql`) and the names a report joins beside its ids (`joined.py`).

An endpoint learns which entities it names (its top rows) only from its counts. Waiting
for them and then reading the names costs a round trip more (4-8 ms through chDB), so an
endpoint reads all of its tenant's names of the kind beside its counts (`all_names`) and
picks from them (`latest_names`); a tenant with more than `ALL_NAMES_LIMIT` entities of
the kind has only the listed ones read, after.
"""

from __future__ import annotations

from collections.abc import Collection

from chanalytics.query.sql import Params, Select, literal

ALL_NAMES_LIMIT = 2000

Names = dict[str, str | None]


def names_select(kind: str, *, id_as: str = "entity_id", name_as: str = "name",
                 having: str = "") -> Select:
    """One row per entity of `kind` of the statement's tenant (`{tenant:String}`): its id
    and its latest name (by event time, then event id; NULL when no event carried one).
    With `having` (a condition on `argMaxMerge(name)`), the matching ids alone."""
    entity = "entity_id" if id_as == "entity_id" else f"entity_id AS {id_as}"
    columns = [entity] if having else [entity, f"argMaxMerge(name) AS {name_as}"]
    return Select(columns=columns, source="entity_names",
                  where=["tenant_id = {tenant:String}", f"entity_kind = {literal(kind)}"],
                  group_by="entity_id", having=having)


def names_statement(tenant_id: str, kind: str, ids: Collection[str],
                    limit: int) -> tuple[str, dict[str, object]]:
    """The lookup: the listed `ids` of `kind` (every entity when empty), up to `limit`."""
    params = Params(tenant=tenant_id)
    select = names_select(kind)
    if ids:
        select.where.append(f"entity_id IN {params.bind(sorted(ids), 'Array(String)')}")
    select.limit = params.bind(limit, "UInt32")
    return select.sql(), params.values
