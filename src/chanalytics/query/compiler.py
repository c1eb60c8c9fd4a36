"""Statements to SQL: a UNION ALL of the parts' rows, grouped once by the query's groupings.

    SELECT [grouping bits,] d0, d1, …, m0, m1, …
    FROM (SELECT <unified columns> FROM <table> WHERE <tenant, ranges, types, filters>
          UNION ALL …)
    GROUP BY d0, d1 | GROUPING SETS ((d0), (d1, d2), ())

`dN` are the dimensions of all groupings (in first-seen order), `mN` the measures.
Every value is bound (`sql.Params`); the text is the catalogue's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from chanalytics.query.dimensions import DIMENSIONS, Dimension
from chanalytics.query.measures import Family, Measure
from chanalytics.query.model import Filter, Grouping, Query
from chanalytics.query.names import names_select
from chanalytics.query.planner import Part, Plan, Statement
from chanalytics.query.sql import (
    INSTANT,
    Params,
    Select,
    all_of,
    any_of,
    literal,
    literals,
    union_all,
)
from chanalytics.query.tables import Grain

# grouping() bits as the SQL standard has them (1 = aggregated away), whatever the profile.
_GROUPING_SETTING = "force_grouping_standard_compatibility = 1"


class Compiled(msgspec.Struct, frozen=True):
    sql: str
    params: dict[str, object]
    dimensions: tuple[str, ...]  # the dN, in order
    # Per grouping of the query, its grouping() bits (None with a single grouping).
    bits: dict[int, Grouping] | None


def dimensions_of(groupings: Sequence[Grouping]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d for grouping in groupings for d in grouping))


def compile_statement(statement: Statement, plan: Plan, params: Params | None = None) -> Compiled:
    """One statement's SQL; statements compiled into one text share `params`."""
    query = plan.query
    if params is None:
        params = Params(tenant=query.tenant_id, tz=query.window.tz_name,
                        **(plan.buckets.params() if plan.buckets is not None else {}))
        if query.tenants:
            params.values["tenants"] = list(query.tenants)
    dims = dimensions_of(query.groupings)
    if statement.family is Family.STATES:
        return _states(query, dims, params)
    needed = _unified_columns(statement, dims, query)
    source = union_all([_part(part, statement, needed, query, params)
                        for part in statement.parts])
    keys = [f"{_dimension_sql(DIMENSIONS[d], plan)} AS d{i}" for i, d in enumerate(dims)]
    aggregates = [f"{m.aggregate} AS m{i}" for i, m in enumerate(statement.measures)]
    select = Select(columns=[*keys, *aggregates], source=source,
                    where=[_counted(statement.measures)])
    bits: dict[int, Grouping] | None = None
    if len(query.groupings) > 1:
        bits = {_grouping_bits(g, dims): g for g in query.groupings}
        select.columns.insert(0, f"grouping({', '.join(f'd{i}' for i in range(len(dims)))})")
        sets = ", ".join(
            "(" + ", ".join(f"d{dims.index(d)}" for d in g) + ")" for g in query.groupings)
        select.group_by = f"GROUPING SETS ({sets})"
        select.settings.append(_GROUPING_SETTING)
    elif dims:
        select.group_by = ", ".join(f"d{i}" for i in range(len(dims)))
    return Compiled(select.sql(), params.values, dims, bits)


def _counted(measures: Sequence[Measure]) -> str:
    """The rows some measure counts, where the parts' own WHERE (all the measures' event
    types and kinds) lets more through: with keys of several kinds, a part emits e.g. a
    message key for every message event, and a group of only such rows is no result row."""
    types: dict[str, set[str]] = {}
    for m in measures:
        types.setdefault(m.kind, set()).update(m.event_types)
    if len(types) < 2:
        return ""
    return any_of([all_of([f"event_type IN {literals(t)}", f"kind = {literal(kind)}"
                           if kind else ""]) for kind, t in sorted(types.items())])


def _grouping_bits(grouping: Grouping, dims: tuple[str, ...]) -> int:
    return sum(1 << (len(dims) - 1 - i) for i, d in enumerate(dims) if d not in grouping)


def _dimension_sql(dimension: Dimension, plan: Plan) -> str:
    if dimension.name == "time":
        if plan.buckets is None:
            raise AssertionError("a time grouping without buckets")
        return plan.buckets.sql
    return dimension.sql


def _unified_columns(statement: Statement, dims: tuple[str, ...], query: Query) -> list[str]:
    """The columns every part emits: what the dimensions, the measures' conditions and
    their values read."""
    needed = {"event_type"}
    for d in dims:
        needed |= DIMENSIONS[d].columns
    for m in statement.measures:
        needed |= m.columns
        needed.add(m.value.value)
        if m.kind:
            needed.add("kind")
    return sorted(needed)


def _part(part: Part, statement: Statement, columns: list[str], query: Query,
          params: Params) -> Select:
    table = part.table
    kinds = {m.kind for m in statement.measures if m.kind}
    types = set().union(*(m.event_types for m in statement.measures))
    where = [
        tenant_sql(query),
        any_of([time_range(table.grain, start, end, params) for start, end in part.ranges]),
        f"event_type IN {literals(types)}",
    ]
    if kinds:
        where.append(f"kind IN {literals(kinds)}")
    where += [filter_sql(f, params) for f in query.filters if f not in table.implied]
    return Select(columns=[table.select(c) for c in columns], source=table.name,
                  array_join=table.array_join, where=where)


def tenant_sql(query: Query) -> str:
    """Whose rows a part reads: the query's tenant, or its several (`Query.tenants`)."""
    return ("tenant_id IN {tenants:Array(String)}" if query.tenants
            else "tenant_id = {tenant:String}")


# Per grain: the time column of its tables, and the type its bounds are bound as.
_TIME_COLUMNS = {
    Grain.DAY: ("day", "Date"),
    Grain.QUARTER: ("bucket", "DateTime('UTC')"),
    Grain.RAW: ("occurred_at", INSTANT),
}


def time_range(grain: Grain, start: datetime, end: datetime, params: Params) -> str:
    """`[start, end)` over the time column of a table of `grain`, bounds bound."""
    column, type_name = _TIME_COLUMNS[grain]
    low, high = (start.date(), end.date()) if grain is Grain.DAY else (start, end)
    return (f"{column} >= {params.bind(low, type_name)} "
            f"AND {column} < {params.bind(high, type_name)}")


def filter_sql(f: Filter, params: Params) -> str:
    """One filter over a part's unified columns."""
    dimension = DIMENSIONS[f.dimension]
    if f.op == "contains":
        text = params.bind(f.values[0] or "", "String")
        found = f"positionCaseInsensitiveUTF8({dimension.sql}, {text}) > 0"
        if not dimension.entity:
            return found
        named = names_select(
            dimension.entity, having=f"positionCaseInsensitiveUTF8(argMaxMerge(name), {text}) > 0")
        return f"{found} OR {dimension.sql} IN ({named.sql()})"
    empty = dimension.empty
    if isinstance(empty, int):
        values: list[object] = [empty if v is None else int(v) for v in f.values]
        bound = params.bind(values, "Array(Int64)")
    else:
        bound = params.bind([empty if v is None else v for v in f.values], "Array(String)")
    operator = "IN" if f.op == "is" else "NOT IN"
    return f"{dimension.sql} {operator} {bound}"


def _states(query: Query, dims: tuple[str, ...], params: Params) -> Compiled:
    """Active enrollments at the window's end: enrolled before it, not ended before it.

    FINAL merges each enrollment's rows (its first start and end) while reading, before
    the WHERE on them applies (the setting keeps that filter out of PREWHERE, which would
    see the unmerged rows); it reads the tenant's rows once in key order."""
    if set(dims) - {"sequence"} or any(f.dimension != "sequence" for f in query.filters):
        raise ValueError("active enrollments group and filter by sequence only")
    end = params.bind(query.window.end, INSTANT)
    where = [tenant_sql(query), f"enrolled_at < {end}", f"ended_at >= {end}"]
    where += [filter_sql(f, params) for f in query.filters]
    keys = ["sequence_id AS d0"] if dims else []
    select = Select(columns=[*keys, "count() AS m0"], source="enrollment_states FINAL",
                    where=where, settings=["optimize_move_to_prewhere_if_final = 0"])
    bits: dict[int, Grouping] | None = None
    if len(query.groupings) > 1:
        bits = {_grouping_bits(g, dims): g for g in query.groupings}
        select.columns.insert(0, "grouping(d0)")
        select.group_by = "GROUPING SETS (" + ", ".join(
            "(d0)" if g else "()" for g in query.groupings) + ")"
        select.settings.append(_GROUPING_SETTING)
    elif dims:
        select.group_by = "d0"
    return Compiled(select.sql(), params.values, dims, bits)

