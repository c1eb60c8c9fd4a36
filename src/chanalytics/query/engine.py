"""The engine: plan a query, run its statements at once, and put their rows together.

It is also the one place that reads: the read models' statements (`read`) and the
streams of reports and exports (`stream`) go through it, so every read of a tenant's data
is kept and reused the same way (`cache.py`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import structlog

from chanalytics.clickhouse.storage import Storage, view_query
from chanalytics.localtime import as_utc
from chanalytics.query.cache import AnswerCache
from chanalytics.query.compiler import Compiled, compile_statement
from chanalytics.query.dimensions import DIMENSIONS
from chanalytics.query.measures import MEASURES, Family, Measure, Value
from chanalytics.query.model import Grouping, Key, Query, Result, Row
from chanalytics.query.names import ALL_NAMES_LIMIT, Names, names_statement
from chanalytics.query.planner import Plan, Statement, plan
from chanalytics.query.tables import TABLES, Grain, Table

log = structlog.get_logger(__name__)


def zero(measure: Measure) -> Any:
    """A measure's value where nothing was counted."""
    match measure.value:
        case Value.COST:
            return Decimal(0)
        case Value.DURATIONS | Value.LATEST | Value.EARLIEST:
            return None
        case _:
            return 0


def _durations(value: Any) -> Any:  # no samples: an empty array
    return None if not value or math.isnan(value[0]) else tuple(value)


def _instant(value: Any) -> Any:  # an instant in UTC, or None
    return None if value is None else as_utc(value)


# Per kind of value, its converter where it is not `int`.
_CONVERTERS: dict[Value, Callable[[Any], Any]] = {
    Value.COST: Decimal, Value.DURATIONS: _durations, Value.LATEST: _instant,
    Value.EARLIEST: _instant}


def converter(measure: Measure) -> Callable[[Any], Any]:
    """What turns one of the measure's values, as ClickHouse answers it, into its value."""
    return _CONVERTERS.get(measure.value, int)


def measure_value(measure: Measure, value: Any) -> Any:
    return converter(measure)(value)


class Engine:
    """Answers `Query`s from the catalogue's tables through one storage; with a `cache`,
    a read is reused while its tenant's data has not changed (`cache.py`)."""

    def __init__(self, storage: Storage, tables: Sequence[Table] = TABLES,
                 cache: AnswerCache | None = None) -> None:
        self.storage = storage
        self.tables = tuple(tables)
        self.cache = cache
        # Given the raw tables alone (`tables.RAW_TABLES`, the benches' and tests' twin),
        # the engine reads every view's rows from the raw table too.
        self._reads_views = any(t.grain is not Grain.RAW for t in self.tables)

    def source(self, table: str) -> str:
        """What a read of `table` (a view's target) reads: the table, or, for an engine of
        the raw table alone, the view's one definition over the raw table."""
        return table if self._reads_views else f"({view_query(table)})"

    async def run(self, query: Query) -> Result:
        return (await self.run_all(query))[0]

    async def run_all(self, *queries: Query) -> list[Result]:
        """The queries' results, from as few statements as their plans allow: statements of
        the same family that read the same tables over the same ranges with the same
        filters become one (its grouping sets the union of theirs), so each table is read
        once for all of them."""
        tenant = queries[0].tenant_id
        if self.cache is None or any(q.tenant_id != tenant or q.tenants for q in queries):
            return await self._run_all(queries)
        return await self.cache.read(tenant, ("run", queries), lambda: self._run_all(queries),
                                     rows=_result_rows)

    async def _run_all(self, queries: Sequence[Query]) -> list[Result]:
        started = time.perf_counter()
        plans = [plan(q, self.tables) for q in queries]
        shared = shared_statements(plans)
        compiled = [compile_statement(s, p) for s, p, _ in shared]
        answers = await asyncio.gather(*(self.storage.query(c.sql, c.params) for c in compiled))
        split = [_by_grouping(c, rows) for c, rows in zip(compiled, answers, strict=True)]
        results = [_assemble(p, [(s, c, rows) for (s, _, users), c, rows
                                 in zip(shared, compiled, split, strict=True) if i in users])
                   for i, p in enumerate(plans)]
        log.debug("query.engine.ran", tenant_id=queries[0].tenant_id, queries=len(queries),
                  statements=len(compiled), measures=sum(len(q.measures) for q in queries),
                  duration_ms=round((time.perf_counter() - started) * 1000, 2))
        return results

    async def read(self, tenant_id: str, sql: str, params: Mapping[str, Any] | None = None,
                   *, keep: bool = True) -> Sequence[tuple[Any, ...]]:
        """The rows of one compiled statement over `tenant_id`'s data (a read model, a page
        of events or suppressions): reused while the tenant's data has not changed, unless
        `keep` is off because the statement reads something the tenants' versions do not
        track (the server's clock, the API's own requests)."""
        values = dict(params or {})

        def query() -> Awaitable[Sequence[tuple[Any, ...]]]:
            return self.storage.query(sql, values)

        if self.cache is None or not keep:
            return await query()
        key = ("sql", sql, tuple(sorted((k, _hashable(v)) for k, v in values.items())))
        return await self.cache.read(tenant_id, key, query, rows=len)

    def stream(self, sql: str, params: Mapping[str, Any], *,
               settings: Mapping[str, Any] | None = None,
               ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The rows of a statement too large to keep (a report's sorted rows, an export),
        block by block as ClickHouse sends them."""
        return self.storage.stream(sql, params, settings=settings)

    def stream_formatted(self, sql: str, params: Mapping[str, Any], *, fmt: str,
                         settings: Mapping[str, Any] | None = None) -> AsyncIterator[bytes]:
        """The same, written by ClickHouse in `fmt` (CSV)."""
        return self.storage.stream_formatted(sql, params, fmt=fmt, settings=settings)

    async def all_names(self, tenant_id: str, kind: str, *,
                        limit: int = ALL_NAMES_LIMIT) -> Names | None:
        """id → latest name of every entity of `kind`, or None when there are over `limit`."""
        rows = await self._names(tenant_id, kind, (), limit + 1)
        if len(rows) > limit:
            return None
        return {entity_id: name for entity_id, name in rows}

    async def latest_names(self, tenant_id: str, kind: str, ids: Collection[str],
                           known: Names | None = None) -> Names:
        """id → its latest name (None when no event carried one) for the listed ids of
        `kind`, from `known` (`all_names`) when given."""
        if known is None:
            if not ids:
                return {}
            rows = await self._names(tenant_id, kind, ids, len(ids))
            known = {entity_id: name for entity_id, name in rows}
        return {entity_id: known.get(entity_id) for entity_id in ids}

    async def _names(self, tenant_id: str, kind: str, ids: Collection[str],
                     limit: int) -> Sequence[tuple[Any, ...]]:
        def read() -> Awaitable[Sequence[tuple[Any, ...]]]:
            return self.storage.query(*names_statement(tenant_id, kind, ids, limit))

        if self.cache is None:
            return await read()
        key = ("names", kind, tuple(sorted(ids)), limit)
        return await self.cache.read(tenant_id, key, read, rows=len)


def _hashable(value: Any) -> Any:
    """A bound value as part of a cache key (lists of ids become tuples)."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list | tuple) else value


def _result_rows(results: Sequence[Result]) -> int:
    return sum(len(rows) for result in results for rows in result.groups.values())


def _mergeable(a: Plan, b: Plan, statement: Statement, other: Statement) -> bool:
    """Whether one SQL statement can answer both: the same reads, and no extra work that
    matters (distinct keys only for the same measures, unless the reads are of named
    campaigns' own rows, where a statement costs more than its extra sets; one set of time
    buckets)."""
    if statement.family is Family.STATES or statement.family is not other.family:
        return False
    if (statement.parts != other.parts or a.query.filters != b.query.filters
            or a.query.window != b.query.window or a.query.tenant_id != b.query.tenant_id
            or a.query.tenants != b.query.tenants):
        return False
    if (statement.family is Family.KEYS and statement.measures != other.measures
            and not all(part.table.pins for part in statement.parts)):
        return False
    return a.buckets is None or b.buckets is None or a.buckets == b.buckets


def shared_statements(plans: Sequence[Plan]) -> list[tuple[Statement, Plan, set[int]]]:
    """The statements to run: each with the plan it is compiled by and the indexes of the
    plans it answers."""
    shared: list[tuple[Statement, Plan, set[int]]] = []
    for i, planned in enumerate(plans):
        for statement in planned.statements:
            for n, (other, other_plan, users) in enumerate(shared):
                if _mergeable(other_plan, planned, other, statement):
                    shared[n] = (*_merge(other, other_plan, statement, planned), users | {i})
                    break
            else:
                shared.append((statement, planned, {i}))
    return shared


def _merge(a: Statement, a_plan: Plan, b: Statement, b_plan: Plan) -> tuple[Statement, Plan]:
    measures = tuple(dict.fromkeys((*a.measures, *b.measures)))
    query = msgspec.structs.replace(
        a_plan.query, measures=tuple(m.name for m in measures),
        groupings=tuple(dict.fromkeys((*a_plan.query.groupings, *b_plan.query.groupings))))
    statement = msgspec.structs.replace(a, measures=measures)
    buckets = a_plan.buckets if a_plan.buckets is not None else b_plan.buckets
    return statement, Plan(query=query, statements=(statement,), buckets=buckets)


# A statement's rows per grouping: by their grouping() bits, or under None for a statement
# of one grouping (no sets, no bits).
SplitRows = Mapping[Grouping | None, Sequence[tuple[Any, ...]]]


def _by_grouping(shape: Compiled, rows: Sequence[tuple[Any, ...]]) -> SplitRows:
    """Split once per statement: each plan it answers reads only its groupings' rows."""
    if shape.bits is None:
        return {None: rows}
    split: dict[Grouping | None, list[tuple[Any, ...]]] = {g: [] for g in shape.bits.values()}
    for row in rows:
        split[shape.bits[row[0]]].append(row)
    return split


def _assemble(planned: Plan, answered: Sequence[tuple[Statement, Compiled, SplitRows]]) -> Result:
    """The plan's result from the statements that answer it (rows of groupings or
    measures it did not ask for, from a shared statement, are left out)."""
    query = planned.query
    groups: dict[Grouping, dict[Key, dict[str, Any]]] = {g: {} for g in query.groupings}
    wanted = set(query.measures)
    for statement, shape, split in answered:
        offset = 0 if shape.bits is None else 1
        first = offset + len(shape.dimensions)
        picks = [(first + i, m.name, converter(m))
                 for i, m in enumerate(statement.measures) if m.name in wanted]
        for grouping, found in groups.items():
            if shape.bits is not None:
                rows = split.get(grouping, ())
            else:
                rows = split[None] if grouping == query.groupings[0] else ()
            # Each dimension's column, and its empty value, answered as None.
            keys = [(offset + shape.dimensions.index(d), DIMENSIONS[d].empty) for d in grouping]
            for row in rows:
                key = tuple(None if empty is not None and row[at] == empty else row[at]
                            for at, empty in keys)
                values = found.setdefault(key, {})
                for at, name, convert in picks:
                    values[name] = convert(row[at])
    zeros = {name: zero(MEASURES[name]) for name in query.measures}
    return Result(
        groups={g: [Row(key, {**zeros, **values}) for key, values in rows.items()]
                for g, rows in groups.items()},
        buckets=planned.buckets, zeros=zeros)
