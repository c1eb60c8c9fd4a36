"""`POST /api/v1/analytics/query` (report builder) and `GET /api/v1/analytics/events`
(drill-down): JSON pages, or every row streamed as CSV / NDJSON; `GET /api-usage`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from chanalytics.api.analytics import Envelope
from chanalytics.api.body_docs import request_body
from chanalytics.api.dependencies import WINDOW_1D, WINDOW_7D
from chanalytics.api.examples import answered
from chanalytics.api.exports import ExportOperation, export_format, stream, stream_bytes
from chanalytics.api.parameters import GranularityDay
from chanalytics.api.usage import UsageRecorder
from chanalytics.query.body import BodyDecoder
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.events import parse_events_query as parse_events
from chanalytics.query.exports import EVENT_FORMATS, report_blocks
from chanalytics.query.pages import EventsData, ReportData, events_page, report_page
from chanalytics.query.presets.api_usage import ApiUsageData, api_usage
from chanalytics.query.report import ReportBody, parse_report
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_granularity, parse_window

Format = Annotated[str | None, QueryParameter(
    name="format", description="`csv` or `ndjson`: stream every row instead of a JSON page.")]
Text = Annotated[str | None, QueryParameter()]


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


class ReportsController(Controller):
    path = "/api/v1/analytics"
    tags = ("reports",)
    security = ({"bearerAuth": []},)

    @post("/query", summary="Any metrics by any dimensions (report builder)",
          responses=answered("query", Envelope[ReportData]),
          status_code=200, operation_class=QueryOperation)
    async def query(self, request: Request[Any, Any, State], engine: NamedDependency[Engine],
                    tenant_id: NamedDependency[str], now: NamedDependency[datetime],
                    format: Format = None,
                    ) -> Envelope[ReportData] | Stream:
        """Metrics per combination of dimension values, with totals; pages of JSON rows,
        or every row as CSV / NDJSON."""
        body = _body_decoder.decode(await request.body())
        window = parse_window(time_range=body.time_range, start_date=body.start_date,
                              end_date=body.end_date, timezone=body.timezone,
                              default_range="30d", now=now)
        report = parse_report(body, tenant_id, window)
        kind = export_format(request, format)
        if kind is not None:
            names = [c.name for c in report.columns]
            return stream(kind, names, report_blocks(engine, report), "report")
        return Envelope(data=await report_page(engine, report))

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
        if kind is not None:
            return stream_bytes(kind, EVENT_FORMATS[kind](engine, query), "events")
        return Envelope(data=await events_page(engine, query))

    @get("/api-usage", summary="The tenant's own requests to this API",
         responses=answered("api-usage", Envelope[ApiUsageData]),
         dependencies={"window": WINDOW_7D})
    async def api_usage(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                        window: NamedDependency[TimeWindow], usage: NamedDependency[UsageRecorder],
                        granularity: GranularityDay = None) -> Envelope[ApiUsageData]:
        """Requests, errors, mean and p95 duration in total, per endpoint and over time.
        This process's recorded requests are written first, so they all count."""
        request = QueryRequest(tenant_id=tenant_id, window=window,
                               granularity=parse_granularity(granularity, Granularity.DAY))
        await usage.flush()
        return Envelope(data=await api_usage(engine, request))
