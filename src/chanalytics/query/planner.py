"""The planner: which table answers which part of a query's window, decided once.

A window `[start, end)` splits into at most five segments: a raw head up to the first
15-minute boundary, 15-minute buckets up to the first UTC midnight, whole UTC days,
15-minute buckets again, and a raw tail from the last 15-minute boundary. Each segment
is answered by the first table of the catalogue (smallest first) that can: one whose rows
hold every event type a measure counts, has every column its groupings, filters and
condition read, and whose grain fits (a daily row may answer only when no grouping splits
UTC days: a local hour, or a local day that is not a UTC day). Anything a rollup cannot
answer, the raw table does — so a new measure or dimension works before it has a rollup.
A query that names its campaigns reads the raw table throughout, through its projection
in campaign order (`tables.CAMPAIGN_COUNTS`).

Measures whose segments are answered by the same tables share one statement; each
statement reads each of its tables once, for all the time ranges that table answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from chanalytics.query.buckets import LocalBuckets, local_buckets
from chanalytics.query.clock import Granularity
from chanalytics.query.dimensions import DIMENSIONS
from chanalytics.query.errors import BadParameter
from chanalytics.query.measures import MEASURES, Family, Measure
from chanalytics.query.model import Filter, Grouping, Query
from chanalytics.query.tables import TABLES, Grain, Table

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_QUARTER = timedelta(minutes=15)
_DAY = timedelta(days=1)

Range = tuple[datetime, datetime]


class Segment(msgspec.Struct, frozen=True):
    grain: Grain
    start: datetime
    end: datetime


class Part(msgspec.Struct, frozen=True):
    """One table's share of a statement: the time ranges it answers."""

    table: Table
    ranges: tuple[Range, ...]


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    family: Family
    measures: tuple[Measure, ...]
    parts: tuple[Part, ...]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    query: Query
    statements: tuple[Statement, ...]
    # The `time` dimension's buckets, when a grouping has it.
    buckets: LocalBuckets | None


def _floor(instant: datetime, step: timedelta) -> datetime:
    return _EPOCH + (instant - _EPOCH) // step * step


def _ceil(instant: datetime, step: timedelta) -> datetime:
    floor = _floor(instant, step)
    return floor if floor == instant else floor + step


def segments(start: datetime, end: datetime) -> list[Segment]:
    """The window's raw edges, 15-minute stretches and whole UTC days, none empty.

    Instants are rounded up to whole milliseconds, as events are stored."""
    start, end = _ceil(start, _MS), _ceil(end, _MS)
    first_quarter, last_quarter = _ceil(start, _QUARTER), _floor(end, _QUARTER)
    if first_quarter >= last_quarter:
        return [Segment(Grain.RAW, start, end)] if start < end else []
    first_day, last_day = _ceil(first_quarter, _DAY), _floor(last_quarter, _DAY)
    inner = [Segment(Grain.QUARTER, first_quarter, last_quarter)]
    if first_day < last_day:
        inner = [Segment(Grain.QUARTER, first_quarter, first_day),
                 Segment(Grain.DAY, first_day, last_day),
                 Segment(Grain.QUARTER, last_day, last_quarter)]
    every = [Segment(Grain.RAW, start, first_quarter), *inner,
             Segment(Grain.RAW, last_quarter, end)]
    return [s for s in every if s.start < s.end]


def plan(query: Query, tables: Sequence[Table] = TABLES) -> Plan:
    """The statements that answer `query` from `tables` (the catalogue's, smallest first;
    the raw tables alone answer everything, as the bench's twins do); a BadParameter names
    what cannot be asked."""
    _check(query)
    buckets = _time_buckets(query)
    days = all(_reads_days(grouping, query, buckets) for grouping in query.groupings)
    parts = [s if days or s.grain is not Grain.DAY else Segment(Grain.QUARTER, s.start, s.end)
             for s in segments(query.window.start, query.window.end)]
    by_choice: dict[tuple[str, ...], list[Measure]] = {}
    states: list[Measure] = []
    for name in dict.fromkeys(query.measures):
        measure = MEASURES[name]
        if measure.family is Family.STATES:
            states.append(measure)
            continue
        choice = tuple(_table_for(measure, query, s.grain, tables).name for s in parts)
        by_choice.setdefault((measure.family.value, *choice), []).append(measure)
    statements = [_statement(measures, parts, query, tables)
                  for measures in by_choice.values()]
    if states:
        statements.append(Statement(family=Family.STATES, measures=tuple(states), parts=()))
    return Plan(query=query, statements=tuple(statements), buckets=buckets)


def _check(query: Query) -> None:
    for name in query.measures:
        if name not in MEASURES:
            raise ValueError(f"unknown measure {name!r}")
    for grouping in query.groupings:
        for name in grouping:
            if name not in DIMENSIONS:
                raise ValueError(f"unknown dimension {name!r}")
    for f in query.filters:
        dimension = DIMENSIONS.get(f.dimension)
        if dimension is None or dimension.clock:
            raise BadParameter("invalid_filter", f"cannot filter on {f.dimension!r}", "filters")


def _time_buckets(query: Query) -> LocalBuckets | None:
    if not any("time" in grouping for grouping in query.groupings):
        return None
    return local_buckets(query.window, query.granularity)


def _reads_days(grouping: Grouping, query: Query, buckets: LocalBuckets | None) -> bool:
    """Whether a daily row lies inside one group of `grouping`: no dimension of it
    splits a UTC day."""
    for name in grouping:
        if name == "time":
            if buckets is None or not buckets.utc_days:
                return False
        elif name == "dayOfWeek":
            if not local_buckets(query.window, Granularity.DAY).utc_days:
                return False
        elif DIMENSIONS[name].clock:
            return False
    return True


def _columns(measure: Measure, query: Query, table: Table) -> set[str]:
    """The unified columns a table must have to answer `measure` of `query`."""
    needed = {"event_type", *measure.columns}
    if measure.kind:
        needed.add("kind")
    for grouping in query.groupings:
        for name in grouping:
            needed |= DIMENSIONS[name].columns
    for f in query.filters:
        if f not in table.implied:
            needed |= DIMENSIONS[f.dimension].columns
    return needed


def _pinned(query: Query, dimension: str) -> bool:
    """Whether the query keeps only named values of `dimension`."""
    return any(f.dimension == dimension and f.op == "is" and None not in f.values
               for f in query.filters)


def _answers(table: Table, measure: Measure, query: Query) -> bool:
    types = table.event_types.get(measure.kind)
    return (table.family is measure.family
            and (not table.pins or _pinned(query, table.pins))
            and types is not None and measure.event_types <= types
            and measure.value in table.values
            and all(f in query.filters for f in table.implied)
            and _columns(measure, query, table) <= table.columns)


def _table_for(measure: Measure, query: Query, grain: Grain,
               tables: Sequence[Table]) -> Table:
    for table in tables:
        if table.grain <= grain and _answers(table, measure, query):
            return table
    raise AssertionError(f"no table answers {measure.name}")  # the raw tables answer all


def _statement(measures: list[Measure], parts: list[Segment], query: Query,
               catalogue: Sequence[Table]) -> Statement:
    ranges: dict[str, list[Range]] = {}
    tables: dict[str, Table] = {}
    for segment in parts:
        table = _table_for(measures[0], query, segment.grain, catalogue)
        tables[table.name] = table
        ranges.setdefault(table.name, []).append((segment.start, segment.end))
    return Statement(family=measures[0].family, measures=tuple(measures), parts=tuple(
        Part(tables[name], _merged(spans)) for name, spans in ranges.items()))


def _merged(spans: Iterable[Range]) -> tuple[Range, ...]:
    """Adjacent ranges as one."""
    merged: list[Range] = []
    for start, end in sorted(spans):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def filter_is(dimension: str, *values: str | None) -> Filter:
    """`["is", dimension, values]`."""
    return Filter(dimension, "is", values)
