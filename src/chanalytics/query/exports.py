"""Every row of a report or of the events: what an export streams.

A report's rows come in blocks that the HTTP handler encodes (CSV or NDJSON). The events
come as the bytes of each format (`EVENT_FORMATS`: NDJSON, CSV, Parquet), which the
handler streams as they are and the warehouse feed (`warehouse/`) writes to files, so
both give the same bytes. Events are read one UTC day per statement with bounded
ClickHouse settings, so memory holds a day's sort, never the whole export's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chanalytics.query.compiler import time_range
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.events import CSV_SETTINGS, EventsQuery, events_statement, item
from chanalytics.query.report import Line, Report, every_line, series_lines, totals
from chanalytics.query.request import TimeRange
from chanalytics.query.sql import Params, Select
from chanalytics.query.tables import Grain

# An export reads one UTC day per statement on one thread: measured on the largest bench
# tenant's 30 days (1.67M events), resident memory stayed within +18 MB at 89k rows/s,
# where one sorted statement held +1 GB (each reading thread buffers its blocks).
EXPORT_SETTINGS = {"max_threads": 1, "max_bytes_before_external_sort": 64 << 20}
# Parquet as ClickHouse writes it, the same bytes for the same rows and server version
# (the file names the version that wrote it): one reading thread keeps the blocks, hence
# the row groups, in one order. The writer holds a row group in memory until it is
# complete: 64 MB groups instead of the default 512 MB bound that for a large day.
PARQUET_SETTINGS = {"output_format_parquet_compression_method": "zstd",
                    "output_format_parquet_row_group_size_bytes": 64 << 20}
BLOCK = 1000  # report rows per block
_MS = timedelta(milliseconds=1)


def report_blocks(engine: Engine, report: Report) -> AsyncIterator[Sequence[Line]]:
    """Every row of the report, in blocks; a report with `compare` is refused (an export
    has no place for the comparison, and it must never be dropped silently)."""
    if report.compare is not None:
        raise BadParameter("invalid_compare", "compare answers JSON only, not an export "
                           "(format=csv|ndjson)", "compare")
    return _report_blocks(engine, report)


async def _report_blocks(engine: Engine, report: Report) -> AsyncIterator[Sequence[Line]]:
    if report.dimensions == ("time",):
        yield await series_lines(engine, report)
        return
    if not report.dimensions:
        yield [list((await totals(engine, report)).values())]
        return
    block: list[Line] = []
    async for found in every_line(engine, report):
        block.append(found)
        if len(block) == BLOCK:
            yield block
            block = []
    if block:
        yield block


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, msgspec.Raw):
        return bytes(value).decode()
    return value


async def encoded(kind: str, names: Sequence[str],
                  blocks: AsyncIterator[Sequence[Sequence[Any]]]) -> AsyncIterator[bytes]:
    """The rows of `blocks` (values in the order of `names`) as CSV (RFC 4180, a header
    row) or NDJSON (one object per line) bytes, block by block."""
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(names)
        yield buffer.getvalue().encode()
        async for block in blocks:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_text(v) for v in row] for row in block)
            yield buffer.getvalue().encode()
        return
    async for block in blocks:
        yield b"".join(msgspec.json.encode(dict(zip(names, row, strict=True))) + b"\n"
                       for row in block)


async def _json_document(report: Report, blocks: AsyncIterator[Sequence[Line]]
                         ) -> AsyncIterator[bytes]:
    """`{"timeRange", "columns", "rows": [[…], …]}`, a row per line, written as read."""
    head = msgspec.json.encode({"timeRange": TimeRange.of(report.query.window),
                                "columns": report.columns})
    yield head[:-1] + b',"rows":['
    first = True
    async for block in blocks:
        for row in block:
            yield (b"\n" if first else b",\n") + msgspec.json.encode(row)
            first = False
    yield b"\n]}\n"


async def _counted(blocks: AsyncIterator[Sequence[Line]],
                   on_rows: Callable[[int], None]) -> AsyncIterator[Sequence[Line]]:
    async for block in blocks:
        on_rows(len(block))
        yield block


def report_file(engine: Engine, report: Report, kind: str,
                on_rows: Callable[[int], None] | None = None) -> AsyncIterator[bytes]:
    """Every row of `report` as the bytes of a file in `kind` (csv, ndjson or json): what
    a scheduled report stores and delivers. `on_rows` is told each block's row count."""
    blocks = report_blocks(engine, report)
    if on_rows is not None:
        blocks = _counted(blocks, on_rows)
    if kind == "json":
        return _json_document(report, blocks)
    return encoded(kind, [c.name for c in report.columns], blocks)


def by_utc_day(query: EventsQuery) -> list[EventsQuery]:
    """The export's window as UTC days, newest first: each statement sorts one day's
    events, never the whole export's."""
    parts, end = [], query.window.end
    while end > query.window.start:
        start = max(query.window.start, (end - _MS).replace(hour=0, minute=0, second=0,
                                                            microsecond=0))
        parts.append(msgspec.structs.replace(query, window=msgspec.structs.replace(
            query.window, start=start, end=end)))
        end = start
    return parts or [query]


async def event_csv(engine: Engine, query: EventsQuery) -> AsyncIterator[bytes]:
    """Every event as CSV bytes: ClickHouse writes the CSV (no Python per row), the header
    with the newest day."""
    for n, day in enumerate(by_utc_day(query)):
        sql, params = events_statement(day, page=False, csv=True)
        async for chunk in engine.stream_formatted(
                sql, params, fmt="CSV" if n else "CSVWithNames",
                settings={**EXPORT_SETTINGS, **CSV_SETTINGS}):
            yield chunk


async def event_ndjson(engine: Engine, query: EventsQuery) -> AsyncIterator[bytes]:
    """Every event as NDJSON bytes, one item (as the drill-down shows it) per line."""
    for day in by_utc_day(query):
        sql, params = events_statement(day, page=False)
        async for block in engine.stream(sql, params, settings=EXPORT_SETTINGS):
            yield b"".join(msgspec.json.encode(item(row)) + b"\n" for row in block)


async def event_parquet(engine: Engine, query: EventsQuery) -> AsyncIterator[bytes]:
    """Every event as one Parquet file, written by ClickHouse: the items' fields, instants
    as UTC millisecond timestamps. One statement (a Parquet file cannot be concatenated),
    so the window is meant to be a day, as the warehouse feed's files are."""
    sql, params = events_statement(query, page=False, parquet=True)
    async for chunk in engine.stream_formatted(
            sql, params, fmt="Parquet", settings={**EXPORT_SETTINGS, **PARQUET_SETTINGS}):
        yield chunk


EventEncoder = Callable[[Engine, EventsQuery], AsyncIterator[bytes]]
# Every file format of the events, by its file extension.
EVENT_FORMATS: Mapping[str, EventEncoder] = {
    "ndjson": event_ndjson, "csv": event_csv, "parquet": event_parquet}


async def tenants_with_events(engine: Engine, start: datetime, end: datetime) -> list[str]:
    """The tenants that have stored events in `[start, end)`, in order."""
    params = Params()
    select = Select(columns=["DISTINCT tenant_id"], source="analytics_events",
                    where=[time_range(Grain.RAW, start, end, params)], order_by="tenant_id")
    # Streamed: a read of every tenant's data, which no tenant's version keeps.
    return [row[0] async for block in engine.stream(select.sql(), params.values)
            for row in block]
