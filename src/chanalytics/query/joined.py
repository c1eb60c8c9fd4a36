"""One statement for a whole grouped result: what pages and exports read.

The engine runs a query's statements at once and puts their rows together in Python,
which is fastest for an endpoint's few hundred rows. A report's rows may be millions, so
a page or an export reads them from one statement that ClickHouse sorts and streams: the
engine's statements (one grouping each) FULL JOINed on their dimensions — a side without
a row gives zeros — with the entities' latest names LEFT JOINed beside their ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from chanalytics.query.compiler import compile_statement, dimensions_of
from chanalytics.query.dimensions import DIMENSIONS
from chanalytics.query.names import names_select
from chanalytics.query.planner import Plan
from chanalytics.query.sql import Params, Select

Order = tuple[str, bool]  # (measure SQL expression over the joined columns, descending)


class Joined(msgspec.Struct, frozen=True):
    sql: str
    params: dict[str, object]
    dimensions: tuple[str, ...]
    named: tuple[str, ...]  # dimensions followed by a name column, in order
    measures: tuple[str, ...]  # the measure columns after them, in order


def joined_statement(plan: Plan, order: Sequence[Order], *, limit: int | None = None,
                     offset: int = 0, count_rows: bool = False) -> Joined:
    """The plan's one grouping as one sorted statement; `order` keys come first, then the
    dimensions ascending (nulls last). With `count_rows` every row also carries the
    result's row count."""
    dims = dimensions_of(plan.query.groupings)
    keys = [f"d{i}" for i in range(len(dims))]
    query = plan.query
    params = Params(tenant=query.tenant_id, tz=query.window.tz_name,
                    **(plan.buckets.params() if plan.buckets is not None else {}))
    sides, measures = [], []
    for n, statement in enumerate(plan.statements):
        compiled = compile_statement(statement, plan, params)
        renamed = [f"m{j} AS s{n}_{m.name}" for j, m in enumerate(statement.measures)]
        sides.append("(" + Select(columns=[*keys, *renamed], source=f"({compiled.sql})").sql()
                     + f") AS side{n}")
        measures += [m.name for m in statement.measures]
    source = sides[0]
    for side in sides[1:]:
        source += f" FULL OUTER JOIN {side} USING ({', '.join(keys)})"
    named = tuple(d for d in dims if DIMENSIONS[d].entity)
    for d in named:
        i = dims.index(d)
        names = names_select(DIMENSIONS[d].entity, id_as=f"d{i}", name_as=f"n{i}")
        source += f" LEFT JOIN ({names.sql()}) AS names{i} USING (d{i})"
    columns = [*keys, *(f"n{dims.index(d)}" for d in named), *(
        f"s{n}_{m.name}" for n, s in enumerate(plan.statements) for m in s.measures)]
    if count_rows:
        columns.append("count() OVER () AS total_rows")
    ordering = [f"{expr} {'DESC' if desc else 'ASC'} NULLS LAST" for expr, desc in order]
    select = Select(columns=columns, source=source, settings=["join_use_nulls = 0"],
                    order_by=", ".join([*ordering, *(f"{k} ASC NULLS LAST" for k in keys)]))
    if limit is not None:
        select.limit = params.bind(limit, "UInt64")
        select.offset = params.bind(offset, "UInt64")
    return Joined(select.sql(), params.values, dims, named, tuple(measures))


def measure_column(plan: Plan, measure: str) -> str:
    """The joined statement's column of one measure."""
    for n, statement in enumerate(plan.statements):
        if any(m.name == measure for m in statement.measures):
            return f"s{n}_{measure}"
    raise KeyError(measure)
