"""JSON pages of a report and of the events: the rows of one page, its cursor, and a
report's totals (with `compare`, the previous window's and their change).

Which rows a report reads is chosen here by its dimensions: the zero-filled series of a
report grouped by time alone, the single totals row of one without dimensions, else a
page of the sorted statement.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from chanalytics.query.compare import changes
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.events import EventsQuery, events_statement, item, next_cursor
from chanalytics.query.report import (
    MAX_JSON_ROWS,
    Column,
    Line,
    Report,
    ReportComparison,
    cursor,
    previous_totals,
    series_lines,
    sorted_lines,
    totals,
)
from chanalytics.query.request import TimeRange


class ReportData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                 omit_defaults=True):
    time_range: TimeRange
    columns: list[Column]
    rows: list[Line]
    totals: dict[str, Any]
    next_cursor: str | None
    # With `compare`: the previous window's totals, and the change of each total.
    comparison: ReportComparison | None = None
    change: dict[str, float | None] | None = None


class EventsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    items: list[dict[str, Any]]
    next_cursor: str | None


async def _page_lines(engine: Engine, report: Report) -> tuple[list[Line], int]:
    """The page's rows of a report with dimensions, and how many rows the whole result
    has."""
    if report.dimensions == ("time",):
        every = await series_lines(engine, report)
        return every[report.offset:report.offset + report.limit], len(every)
    found = [pair async for pair in sorted_lines(engine, report, limit=report.limit,
                                                 offset=report.offset)]
    return [lin for lin, _ in found], found[0][1] if found else 0


async def report_page(engine: Engine, report: Report) -> ReportData:
    """One page of the report with its totals, read at once; a result over
    `MAX_JSON_ROWS` rows is refused (it is for an export). Without dimensions the one
    row is the totals, read once."""
    if report.dimensions:
        (rows, count), total, before = await asyncio.gather(
            _page_lines(engine, report), totals(engine, report),
            previous_totals(engine, report))
    else:
        total, before = await asyncio.gather(totals(engine, report),
                                             previous_totals(engine, report))
        rows, count = [list(total.values())], 1
    if count > MAX_JSON_ROWS:
        raise BadParameter("too_many_rows", f"the result holds {count:,} rows, over "
                           f"{MAX_JSON_ROWS:,}: export it (format=csv|ndjson) or narrow "
                           "it", "dimensions")
    following = report.offset + report.limit
    return ReportData(
        time_range=TimeRange.of(report.query.window), columns=report.columns, rows=rows,
        totals=total,
        next_cursor=cursor(following, report.digest) if following < count else None,
        comparison=before, change=None if before is None else changes(total, before.totals))


async def events_page(engine: Engine, query: EventsQuery) -> EventsData:
    """One keyset page of the events, newest first, and the cursor of the next."""
    sql, params = events_statement(query, page=True)
    rows = await engine.read(query.tenant_id, sql, params)
    shown = rows[: query.limit]
    more = len(rows) > query.limit
    return EventsData(
        time_range=TimeRange.of(query.window), items=[item(r) for r in shown],
        next_cursor=next_cursor(query, shown[-1]) if more else None)
