"""`POST /api/v1/analytics/query` (report builder) and `GET /api/v1/analytics/events`
(drill-down): JSON pages, or every row streamed as CSV / NDJSON."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from chanalytics.api.analytics import Envelope
from chanalytics.api.auth import AUTH
from chanalytics.api.body_docs import request_body
from chanalytics.api.dependencies import ENGINE, WINDOW_1D
from chanalytics.api.examples import answered
from chanalytics.api.exports import ExportOperation, export_format, stream, stream_bytes
from chanalytics.query.body import BodyDecoder
from chanalytics.query.clock import TimeWindow
from chanalytics.query.compare import changes
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.events import (
    CSV_SETTINGS,
    FIELDS,
    EventsQuery,
    events_statement,
    item,
    next_cursor,
)
from chanalytics.query.events import parse_events_query as parse_events
from chanalytics.query.report import (
    MAX_JSON_ROWS,
    Column,
    Line,
    Report,
    ReportBody,
    ReportComparison,
    cursor,
    parse_report,
    previous_totals,
    series_lines,
    sorted_lines,
    totals,
)
from chanalytics.query.request import TimeRange
from chanalytics.query.timerange import parse_window

Format = Annotated[str | None, QueryParameter(
    name="format", description="`csv` or `ndjson`: stream every row instead of a JSON page.")]
Text = Annotated[str | None, QueryParameter()]
# An export reads one UTC day per statement on one thread: measured on the largest bench
# tenant's 30 days (1.67M events), resident memory stayed within +18 MB at 89k rows/s,
# where one sorted statement held +1 GB (each reading thread buffers its blocks).
EXPORT_SETTINGS = {"max_threads": 1, "max_bytes_before_external_sort": 64 << 20}
_MS = timedelta(milliseconds=1)


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


_body_decoder = BodyDecoder(ReportBody)
QUERY_BODY = request_body(ReportBody, {
    "Sent, delivery rate, p95 latency and cost by channel and provider": {
        "metrics": ["sent", "deliveryRate", "p95DeliveryMs", "totalCost"],
        "dimensions": ["channel", "provider"], "timeRange": "30d", "limit": 3},
    "Email and SMS per Berlin day, against the week before": {
        "metrics": ["sent", "delivered", "deliveryRate", "openRate", "totalCost"],
        "dimensions": ["time:day"], "filters": [["is", "channel", ["email", "sms"]]],
        "timeRange": "7d", "timezone": "Europe/Berlin", "compare": "previous_period"},
    "Campaigns named like spring, most sent first": {
        "metrics": ["sent", "opened", "clickRate", "uniqueContacts"],
        "dimensions": ["campaign"], "filters": [["contains", "campaign", "spring"]],
        "startDate": "2026-03-01", "endDate": "2026-03-31", "timezone": "Europe/Berlin",
        "orderBy": [["sent", "desc"]], "limit": 100, "cursor": None}},
    "The question (docs/reports.md). A key not listed here answers 400 naming it.")


@dataclass
class QueryOperation(ExportOperation):
    """The export answers of `ExportOperation`, and the body the handler reads itself."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = QUERY_BODY


async def _lines(engine: Engine, report: Report, *, page: bool) -> tuple[list[Line], int]:
    """A page (or, for a streamed export's time series, all) of the report's rows, and
    how many rows the result has."""
    if report.dimensions == ("time",):
        every = await series_lines(engine, report)
        return (every[report.offset:report.offset + report.limit] if page else every,
                len(every))
    if not report.dimensions:
        return [list((await totals(engine, report)).values())], 1
    found = [pair async for pair in sorted_lines(engine, report, limit=report.limit,
                                                 offset=report.offset)]
    return [lin for lin, _ in found], found[0][1] if found else 0


async def _all_lines(engine: Engine, report: Report) -> AsyncIterator[Sequence[Line]]:
    """Every row of the report, in blocks."""
    if not report.dimensions or report.dimensions == ("time",):
        yield (await _lines(engine, report, page=False))[0]
        return
    block: list[Line] = []
    async for found, _ in sorted_lines(engine, report, limit=None, offset=0):
        block.append(found)
        if len(block) == 1000:
            yield block
            block = []
    if block:
        yield block


def _by_day(query: EventsQuery) -> list[EventsQuery]:
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


async def _event_blocks(engine: Engine, query: EventsQuery) -> AsyncIterator[Sequence[Any]]:
    for day in _by_day(query):
        sql, params = events_statement(day, page=False)
        async for block in engine.storage.stream(sql, params, settings=EXPORT_SETTINGS):
            yield [list(item(row).values()) for row in block]


async def _event_csv(engine: Engine, query: EventsQuery) -> AsyncIterator[bytes]:
    """ClickHouse writes the CSV (no Python per row); the header with the newest day."""
    for n, day in enumerate(_by_day(query)):
        sql, params = events_statement(day, page=False, csv=True)
        async for chunk in engine.storage.stream_formatted(
                sql, params, fmt="CSV" if n else "CSVWithNames",
                settings={**EXPORT_SETTINGS, **CSV_SETTINGS}):
            yield chunk


class ReportsController(Controller):
    path = "/api/v1/analytics"
    tags = ("reports",)
    dependencies = {"tenant_id": AUTH, "engine": ENGINE}  # noqa: RUF012
    security = ({"bearerAuth": []},)

    @post("/query", summary="Any metrics by any dimensions (report builder)",
          responses=answered("query", Envelope[ReportData]),
          status_code=200, operation_class=QueryOperation)
    async def query(self, request: Request[Any, Any, State], engine: NamedDependency[Engine],
                    tenant_id: NamedDependency[str], format: Format = None,
                    ) -> Envelope[ReportData] | Stream:
        """Metrics per combination of dimension values, with totals; pages of JSON rows,
        or every row as CSV / NDJSON."""
        body = _body_decoder.decode(await request.body())
        window = parse_window(time_range=body.time_range, start_date=body.start_date,
                              end_date=body.end_date, timezone=body.timezone,
                              default_range="30d", now=request.app.state.clock())
        report = parse_report(body, tenant_id, window)
        kind = export_format(request, format)
        if kind is not None:
            if report.compare is not None:  # an export has no place for it: never drop it
                raise BadParameter("invalid_compare", "compare answers JSON only, not an "
                                   "export (format=csv|ndjson)", "compare")
            names = [c.name for c in report.columns]
            return stream(kind, names, _all_lines(engine, report), "report")
        (rows, count), total, before = await asyncio.gather(
            _lines(engine, report, page=True), totals(engine, report),
            previous_totals(engine, report))
        if count > MAX_JSON_ROWS:
            raise BadParameter("too_many_rows", f"the result holds {count:,} rows, over "
                               f"{MAX_JSON_ROWS:,}: export it (format=csv|ndjson) or narrow "
                               "it", "dimensions")
        following = report.offset + report.limit
        return Envelope(data=ReportData(
            time_range=TimeRange.of(window), columns=report.columns, rows=rows, totals=total,
            next_cursor=cursor(following, report.digest) if following < count else None,
            comparison=before, change=None if before is None else changes(total, before.totals)))

    @get("/events", summary="The tenant's events, newest first (drill-down)",
         responses=answered("events", Envelope[EventsData]), dependencies={"window": WINDOW_1D},
         operation_class=ExportOperation)
    async def events(self, request: Request[Any, Any, State], engine: NamedDependency[Engine],
                     tenant_id: NamedDependency[str], window: NamedDependency[TimeWindow],
                     types: Text = None, channel: Text = None, provider: Text = None,
                     campaign_id: Annotated[str | None, QueryParameter(name="campaignId")] = None,
                     template_id: Annotated[str | None, QueryParameter(name="templateId")] = None,
                     workflow_id: Annotated[str | None, QueryParameter(name="workflowId")] = None,
                     sequence_id: Annotated[str | None, QueryParameter(name="sequenceId")] = None,
                     contact_id: Annotated[str | None, QueryParameter(name="contactId")] = None,
                     entity_id: Annotated[str | None, QueryParameter(name="entityId")] = None,
                     limit: Text = None, cursor: Text = None, format: Format = None,
                     ) -> Envelope[EventsData] | Stream:
        """Stored events with their fields; pages by `cursor`, or all of them streamed."""
        query = parse_events(tenant_id, window, {
            "channel": channel, "provider": provider, "campaignId": campaign_id,
            "templateId": template_id, "workflowId": workflow_id, "sequenceId": sequence_id,
            "contactId": contact_id, "entityId": entity_id}, types, limit, cursor)
        kind = export_format(request, format)
        if kind == "csv":
            return stream_bytes(kind, _event_csv(engine, query), "events")
        if kind is not None:
            return stream(kind, list(FIELDS), _event_blocks(engine, query), "events")
        sql, params = events_statement(query, page=True)
        rows = await engine.storage.query(sql, params)
        shown = rows[: query.limit]
        more = len(rows) > query.limit
        return Envelope(data=EventsData(
            time_range=TimeRange.of(window), items=[item(r) for r in shown],
            next_cursor=next_cursor(query, shown[-1]) if more else None))
