"""`POST /query`: any metrics by any dimensions, validated into one engine query.

Rows are read sorted from one statement (`joined.py`): a page is a LIMIT/OFFSET of it,
an export all of it, streamed. A query grouped by time alone is zero-filled (every
bucket), so it is read through the engine and sorted here (at most 5,000 buckets).
Rows are ordered by `orderBy` on the exact values (a rate by its unrounded ratio),
nulls last, then by the dimensions ascending.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from chanalytics.localtime import utc_text
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.compare import Compare, parse_compare, previous_window
from chanalytics.query.dimensions import DIMENSIONS, WEEKDAYS
from chanalytics.query.engine import Engine, measure_value
from chanalytics.query.errors import BadParameter
from chanalytics.query.joined import joined_statement, measure_column
from chanalytics.query.measures import MEASURES
from chanalytics.query.metrics import METRICS, ColumnType, Metric
from chanalytics.query.model import Filter, Query
from chanalytics.query.planner import plan
from chanalytics.query.request import TimeRange

MAX_METRICS, MAX_DIMENSIONS, MAX_LIMIT, MAX_JSON_ROWS = 20, 3, 10_000, 1_000_000
PAGE = 5_000  # rows an export reads per block, at most
# How a whole report is read (an export, a scheduled report's file): on one thread, in
# blocks of 8,192 rows (the stream keeps a few blocks ahead as Python objects), spilling
# groupings and sorts over 16 MB to disk. A scheduled 1M-row report on the embedded engine
# grew its process by +114-120 MB with 64 MB (and the row count, see `every_line`), by
# +57-59 MB with 16 MB and no count, at the same speed (bench/results/report_delivery.md).
EXPORT_READ = {"max_threads": 1, "max_bytes_before_external_group_by": 16 << 20,
               "max_bytes_before_external_sort": 16 << 20, "max_block_size": 8192}


def _doc(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


class ReportBody(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """The question, as sent. A key not named here answers 400 naming it (a misspelled
    `filter` must never be answered as if no filter were asked for)."""

    metrics: Annotated[list[str], _doc("1 to 20 metric names (docs/reports.md)")]
    dimensions: Annotated[list[str], _doc(
        "0 to 3: `time:hour|day|week|month`, `hourOfDay`, `dayOfWeek`, `channel`, "
        "`provider`, `campaign`, …")] = msgspec.field(default_factory=list)
    filters: Annotated[list[list[Any]], _doc(
        'AND-ed: `["is"|"isNot", dimension, [values…]]` or `["contains", dimension, '
        '"text"]`')] = msgspec.field(default_factory=list)
    time_range: Annotated[str | None, _doc("`1d|7d|30d|90d`; default `30d`")] = None
    start_date: Annotated[str | None, _doc(
        "`YYYY-MM-DD` or RFC 3339, inclusive; with endDate")] = None
    end_date: Annotated[str | None, _doc(
        "`YYYY-MM-DD` (the end of that day) or RFC 3339, exclusive")] = None
    timezone: Annotated[str | None, _doc("IANA zone; default UTC")] = None
    order_by: Annotated[list[list[str]], _doc(
        "`[[metric or dimension, asc|desc], …]`; default the dimensions ascending",
    )] = msgspec.field(default_factory=list)
    limit: Annotated[int, _doc("rows per page, 1 to 10,000")] = 1000
    cursor: Annotated[str | None, _doc("`nextCursor` of the previous page")] = None
    # A string, not an enum type: `parse_compare` answers a bad value as every endpoint does.
    compare: Annotated[str | None, msgspec.Meta(
        description="`previous_period` or `previous_year`: adds `comparison{totals, "
                    "timeRange}` and `change` (JSON answers only)",
        extra_json_schema={"enum": [*(c.value for c in Compare), None]})] = None


class Column(msgspec.Struct, frozen=True):
    name: str
    type: ColumnType


_DIMENSION_TYPES: Mapping[str, ColumnType] = {"time": "timestamp", "hourOfDay": "integer"}


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A validated report: the engine query, its columns, its order, its page."""

    query: Query
    metrics: tuple[Metric, ...]
    dimensions: tuple[str, ...]  # engine names: `time`, `channel`, …
    order: tuple[tuple[str, bool], ...]  # (metric or dimension, descending)
    limit: int
    offset: int
    digest: str
    compare: Compare | None = None

    @property
    def columns(self) -> list[Column]:
        out = []
        for d in self.dimensions:
            out.append(Column(d, _DIMENSION_TYPES.get(d, "string")))
            if DIMENSIONS[d].entity:
                out.append(Column(f"{d}Name", "string"))
        return [*out, *(Column(m.name, m.type) for m in self.metrics)]


def _bad(field: str, message: str, code: str = "invalid_query") -> BadParameter:
    return BadParameter(code, message, field)


def parse_report(body: ReportBody, tenant_id: str, window: TimeWindow) -> Report:
    """Check every part of the body; a BadParameter names the field at fault."""
    if not 1 <= len(body.metrics) <= MAX_METRICS:
        raise _bad("metrics", f"give 1 to {MAX_METRICS} metrics")
    unknown = [m for m in body.metrics if m not in METRICS]
    if unknown:
        raise _bad("metrics", f"unknown metric {unknown[0]!r:.80}", "unknown_metric")
    if len(body.dimensions) > MAX_DIMENSIONS:
        raise _bad("dimensions", f"at most {MAX_DIMENSIONS} dimensions")
    dims: list[str] = []
    granularity = Granularity.DAY
    for d in body.dimensions:
        name, _, grain = d.partition(":")
        if name == "time" and grain in set(Granularity) and "time" not in dims:
            granularity = Granularity(grain)
        elif grain or name not in DIMENSIONS or not DIMENSIONS[name].public or name in dims:
            raise _bad("dimensions", f"unknown or repeated dimension {d!r:.80}",
                       "unknown_dimension")
        dims.append(name)
    filters = tuple(_filter(f) for f in body.filters)
    if not 1 <= body.limit <= MAX_LIMIT:
        raise _bad("limit", f"limit must be 1 to {MAX_LIMIT}", "invalid_limit")
    names = {*body.metrics, *dims}
    order = []
    for item in body.order_by:
        if (len(item) != 2 or item[0] not in names or item[1] not in ("asc", "desc")):
            raise _bad("orderBy", "orderBy entries are [metric or dimension, asc|desc] of "
                                  "the query's own")
        order.append((item[0], item[1] == "desc"))
    metrics = tuple(METRICS[m] for m in dict.fromkeys(body.metrics))
    measures = tuple(dict.fromkeys(x for m in metrics for x in m.measures))
    query = Query(tenant_id=tenant_id, window=window, measures=measures,
                  groupings=(tuple(dims),) if dims else ((),), filters=filters,
                  granularity=granularity)
    compare = parse_compare(body.compare)
    # Rows are the same with or without `compare`: a cursor serves both.
    canonical = msgspec.json.encode([tenant_id, msgspec.structs.replace(
        body, cursor=None, compare=None)])
    digest = hashlib.blake2b(canonical, digest_size=12).hexdigest()
    offset = _offset(body.cursor, digest) if body.cursor else 0
    plan(query)  # every filter and dimension checked before anything runs
    return Report(query=query, metrics=metrics, dimensions=tuple(dims), order=tuple(order),
                  limit=body.limit, offset=offset, digest=digest, compare=compare)


def _filter(item: list[Any]) -> Filter:
    if len(item) == 3 and item[0] in ("is", "isNot") and isinstance(item[2], list) and item[2] \
            and all(v is None or isinstance(v, str) for v in item[2]) \
            and isinstance(item[1], str):
        return Filter(item[1], item[0], tuple(item[2]))
    if len(item) == 3 and item[0] == "contains" and isinstance(item[1], str) \
            and isinstance(item[2], str) and item[2]:
        return Filter(item[1], "contains", (item[2],))
    raise _bad("filters", 'filters are ["is"|"isNot", dimension, [values…]] or '
                          '["contains", dimension, "text"]', "invalid_filter")


def cursor(offset: int, digest: str) -> str:
    raw = msgspec.json.encode({"o": offset, "q": digest})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(text: str, digest: str) -> int:
    """The offset a cursor of this very query (and tenant) points at; anything else is
    refused, so a cursor can never select another tenant's or another query's rows."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        found = msgspec.json.decode(raw, type=dict[str, Any])
        offset = found["o"]
        if found["q"] == digest and isinstance(offset, int) and 0 <= offset <= MAX_JSON_ROWS:
            return offset
    except (ValueError, KeyError, TypeError, msgspec.DecodeError):
        pass
    raise _bad("cursor", "the cursor does not belong to this query", "invalid_cursor")


# -- running -----------------------------------------------------------------------------

Line = list[Any]


def _cell(dimension: str, value: Any) -> Any:
    if value is None:
        return None
    if dimension == "time":
        return utc_text(datetime.fromtimestamp(value, UTC))
    if dimension == "dayOfWeek":
        return WEEKDAYS[value - 1]
    if dimension == "hourOfDay":
        return int(value)
    return value


def line(report: Report, key: Sequence[Any], names: Mapping[str, Any],
         values: Mapping[str, Any]) -> Line:
    out: Line = []
    for d, value in zip(report.dimensions, key, strict=True):
        out.append(_cell(d, value))
        if DIMENSIONS[d].entity:
            out.append(names.get(d))
    return [*out, *(m.value(values) for m in report.metrics)]


async def totals(engine: Engine, report: Report) -> dict[str, Any]:
    result = await engine.run(msgspec.structs.replace(report.query, groupings=((),)))
    return {m.name: m.value(result.total()) for m in report.metrics}


class ReportComparison(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`comparison` of a JSON answer: the totals of the previous window (rows are not
    compared)."""

    time_range: TimeRange
    totals: dict[str, Any]


async def previous_totals(engine: Engine, report: Report) -> ReportComparison | None:
    """With `compare`, the totals of the previous window (`compare.py`); else None."""
    if report.compare is None:
        return None
    window = previous_window(report.query.window, report.compare)
    before = msgspec.structs.replace(
        report, query=msgspec.structs.replace(report.query, window=window))
    return ReportComparison(time_range=TimeRange.of(window), totals=await totals(engine, before))


async def series_lines(engine: Engine, report: Report) -> list[Line]:
    """Every bucket of a query grouped by time alone, sorted here."""
    result = await engine.run(report.query)
    rows = [((int(start.timestamp()),), values) for start, values in result.series()]
    for name, desc in reversed(report.order):
        metric = METRICS.get(name)

        def key(row: tuple[tuple[int], Mapping[str, Any]], m: Metric | None = metric) -> Any:
            value = row[0][0] if m is None else m.order_value(row[1])
            return value is None, value

        present = [r for r in rows if key(r)[1] is not None]
        absent = [r for r in rows if key(r)[1] is None]
        present.sort(key=key, reverse=desc)
        rows = present + absent
    return [line(report, key, {}, values) for key, values in rows]


async def sorted_lines(engine: Engine, report: Report, *, limit: int,
                       offset: int) -> AsyncIterator[tuple[Line, int]]:
    """A page of the report's rows, each with the result's row count, read sorted from
    one statement."""
    async for found, count in _lines(engine, report, limit=limit, offset=offset):
        yield found, count


async def every_line(engine: Engine, report: Report) -> AsyncIterator[Line]:
    """Every row of the report, read sorted from one statement and streamed in blocks
    with bounded memory (`EXPORT_READ`). Not counted: the count (a window over the whole
    result) would hold every row in memory before the first is sent."""
    async for found, _ in _lines(engine, report, limit=None, offset=0):
        yield found


async def _lines(engine: Engine, report: Report, *, limit: int | None,
                 offset: int) -> AsyncIterator[tuple[Line, int]]:
    planned = plan(report.query, engine.tables)

    def column(measure: str) -> str:
        return measure_column(planned, measure)

    order = [(METRICS[name].order_sql(column) if name in METRICS
              else f"d{report.dimensions.index(name)}", desc) for name, desc in report.order]
    counted = limit is not None
    joined = joined_statement(planned, order, limit=limit, offset=offset, count_rows=counted)
    width = len(joined.dimensions)
    named = len(joined.named)
    end = -1 if counted else None
    settings = None if counted else EXPORT_READ
    async for block in engine.stream(joined.sql, joined.params, settings=settings):
        for row in block:
            values = {m: measure_value(MEASURES[m], v)
                      for m, v in zip(joined.measures, row[width + named:end], strict=True)}
            key = [None if DIMENSIONS[d].empty is not None and v == DIMENSIONS[d].empty else v
                   for d, v in zip(joined.dimensions, row[:width], strict=True)]
            names = {d: n or None for d, n in zip(joined.named, row[width:width + named],
                                                   strict=True)}
            yield line(report, key, names, values), int(row[-1]) if counted else -1
