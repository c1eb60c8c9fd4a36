"""Saved and scheduled reports: `/api/v1/analytics/reports` (docs/scheduled-reports.md).

Handlers parse and call the report store; a run is carried out by the scheduler
(`reports/scheduler.py`), in whichever API process holds its lease: "run now" records a
run that the scheduler starts within a second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Operation
from litestar.params import PathParameter
from litestar.response import Stream

from chanalytics.api.analytics import Envelope
from chanalytics.api.body_docs import request_body
from chanalytics.api.examples import answered
from chanalytics.api.parameters import ERROR_RESPONSES, not_found
from chanalytics.deliveries import AddressPolicy
from chanalytics.localtime import utc_text
from chanalytics.reports.definition import (
    ReportDefinitionBody,
    ReportView,
    parse_definition,
    view,
)
from chanalytics.reports.runner import MEDIA, file_name, manual_run_id, new_run
from chanalytics.reports.scheduler import next_run_at
from chanalytics.reports.store import ReportStore, RunRecord, StoredReport

MAX_RUNS = 100  # runs listed, newest first
ReportPath = Annotated[str, PathParameter(name="reportId", description="The report's id.")]
RunPath = Annotated[str, PathParameter(name="runId", description="The run's id.")]


class DeliveryState(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    delivery_id: str
    status: str  # pending | delivered | failed
    tries: int
    last_error: str | None


class RunView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    run_id: str
    trigger: str  # schedule | manual
    scheduled_for: str
    started_at: str
    finished_at: str | None
    status: str  # running | succeeded | failed
    rows: int
    bytes: int
    error: str | None
    deliveries: list[DeliveryState]


class ReportList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ReportView]


class RunList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RunView]


class RunStarted(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    run_id: str


def run_view(run: RunRecord) -> RunView:
    return RunView(
        run_id=run.run_id, trigger="schedule" if run.scheduled else "manual",
        scheduled_for=utc_text(run.scheduled_for), started_at=utc_text(run.started_at),
        finished_at=None if run.finished_at is None else utc_text(run.finished_at),
        status=run.status, rows=run.rows, bytes=run.bytes, error=run.error or None,
        deliveries=[DeliveryState(channel=d.channel, delivery_id=d.delivery_id,
                                  status=d.status, tries=d.tries, last_error=d.last_error)
                    for d in run.deliveries])


EXAMPLE = {
    "name": "Weekly channel summary", "format": "csv",
    "query": {"metrics": ["sent", "deliveryRate", "totalCost"], "dimensions": ["channel"],
              "timeRange": "7d", "timezone": "Europe/Berlin"},
    "schedule": {"every": "weekly", "at": "08:00", "timezone": "Europe/Berlin"},
    "deliveries": [{"webhook": {"url": "https://hooks.example.com/reports",
                                "secret": "a-long-random-string"}},
                   {"email": {"to": ["ops@example.com"]}}]}
REPORT_BODY = request_body(ReportDefinitionBody, {
    "A weekly CSV to a webhook and by e-mail": EXAMPLE,
    "Every day at 06:00 UTC, per campaign, as JSON (cron)": {
        "name": "Campaigns yesterday", "format": "json",
        "query": {"metrics": ["sent", "openRate", "clickRate"], "dimensions": ["campaign"],
                  "timeRange": "1d"},
        "schedule": {"cron": "0 6 * * *", "timezone": "UTC"}, "deliveries": []}},
    "`query` is the body of POST /query (a relative timeRange is relative to each run); "
    "`format` csv, ndjson or json; `schedule` `{cron, timezone}` or `{every: "
    "daily|weekly|monthly, at: \"HH:MM\", timezone}`; `deliveries` webhooks and e-mails. "
    "A key not listed answers 400 naming it.")


@dataclass
class ReportOperation(Operation):
    """POST and PUT read their body themselves (a bad key's 400 names it); this documents it."""

    def __post_init__(self) -> None:
        self.request_body = REPORT_BODY


NOT_FOUND = not_found("No such report (of this tenant).", "no such report")
CREATED = {**ERROR_RESPONSES, 201: ResponseSpec(
    data_container=Envelope[ReportView], generate_examples=False,
    description="The stored report, with its next run")}
ACCEPTED = {**ERROR_RESPONSES, **NOT_FOUND, 202: ResponseSpec(
    data_container=Envelope[RunStarted], generate_examples=False,
    description="The run is recorded; the scheduler starts it within a second")}
FILE_RESPONSES = {**ERROR_RESPONSES, **NOT_FOUND, 200: ResponseSpec(
    data_container=str, media_type="text/csv", generate_examples=False,
    description="The file: text/csv, application/x-ndjson or application/json, by the "
                "report's format")}


async def _found(reports: ReportStore, tenant_id: str, report_id: str) -> StoredReport:
    found = await reports.get(tenant_id, report_id)
    if found is None:
        raise NotFoundException("no such report")
    return found


async def _view(reports: ReportStore, stored: StoredReport,
                ticks: dict[tuple[str, str], datetime] | None = None) -> ReportView:
    if ticks is None:
        ticks = await reports.last_ticks(stored.tenant_id)
    last = ticks.get((stored.tenant_id, stored.report_id))
    return view(stored.report_id, stored.body, stored.created_at, stored.updated_at,
                next_run_at(stored, last))


class ScheduledReportsController(Controller):
    path = "/api/v1/analytics/reports"
    tags = ("scheduled reports",)
    security = ({"bearerAuth": []},)

    @post("/", summary="Save a scheduled report", status_code=201, responses=CREATED,
          operation_class=ReportOperation)
    async def create(self, request: Request[Any, Any, State],
                     reports: NamedDependency[ReportStore], tenant_id: NamedDependency[str],
                     now: NamedDependency[datetime],
                     webhook_policy: NamedDependency[AddressPolicy]) -> Envelope[ReportView]:
        """Check and store the definition; answers it with its id and `nextRunAt`."""
        body = await parse_definition(await request.body(), tenant_id, now, webhook_policy)
        stored = await reports.put(tenant_id, "rep_" + uuid.uuid4().hex[:20], body)
        return Envelope(data=await _view(reports, stored, {}))

    @get("/", summary="The tenant's scheduled reports",
         responses=answered("reports", Envelope[ReportList]))
    async def list_reports(self, reports: NamedDependency[ReportStore],
                           tenant_id: NamedDependency[str]) -> Envelope[ReportList]:
        """Oldest first; webhook secrets are shown as `hasSecret`."""
        ticks = await reports.last_ticks(tenant_id)
        return Envelope(data=ReportList(items=[await _view(reports, r, ticks)
                                               for r in await reports.of_tenant(tenant_id)]))

    @get("/{reportId:str}", summary="One scheduled report",
         responses=answered("report", Envelope[ReportView], errors={
             **ERROR_RESPONSES, **NOT_FOUND}))
    async def get_report(self, report_id: ReportPath, reports: NamedDependency[ReportStore],
                         tenant_id: NamedDependency[str]) -> Envelope[ReportView]:
        return Envelope(data=await _view(reports, await _found(reports, tenant_id, report_id)))

    @put("/{reportId:str}", summary="Replace a scheduled report",
         responses=answered("report", Envelope[ReportView], errors={
             **ERROR_RESPONSES, **NOT_FOUND}), operation_class=ReportOperation)
    async def replace(self, request: Request[Any, Any, State], report_id: ReportPath,
                      reports: NamedDependency[ReportStore], tenant_id: NamedDependency[str],
                      now: NamedDependency[datetime],
                      webhook_policy: NamedDependency[AddressPolicy]) -> Envelope[ReportView]:
        """The whole definition, as for POST; the schedule counts from now."""
        found = await _found(reports, tenant_id, report_id)
        body = await parse_definition(await request.body(), tenant_id, now, webhook_policy)
        stored = await reports.put(tenant_id, report_id, body, found.created_at)
        return Envelope(data=await _view(reports, stored))

    @delete("/{reportId:str}", summary="Delete a scheduled report", status_code=204,
            responses={**ERROR_RESPONSES, **NOT_FOUND})
    async def remove(self, report_id: ReportPath, reports: NamedDependency[ReportStore],
                     tenant_id: NamedDependency[str]) -> None:
        """Its runs are not run any more; their files expire after 30 days."""
        await _found(reports, tenant_id, report_id)
        await reports.delete(tenant_id, report_id)

    @post("/{reportId:str}/run", summary="Run a report now", status_code=202,
          responses=ACCEPTED)
    async def run_now(self, report_id: ReportPath, reports: NamedDependency[ReportStore],
                      tenant_id: NamedDependency[str],
                      now: NamedDependency[datetime]) -> Envelope[RunStarted]:
        """A run for now (its relative time range ends now), delivered as a tick's is."""
        found = await _found(reports, tenant_id, report_id)
        run = new_run(tenant_id, report_id, found.body, manual_run_id(), scheduled=False,
                      scheduled_for=now, now=now)
        await reports.write_run(run)
        return Envelope(data=RunStarted(run_id=run.run_id))

    @get("/{reportId:str}/runs", summary="A report's runs, newest first",
         responses=answered("reportRuns", Envelope[RunList], errors={
             **ERROR_RESPONSES, **NOT_FOUND}))
    async def runs(self, report_id: ReportPath, reports: NamedDependency[ReportStore],
                   tenant_id: NamedDependency[str]) -> Envelope[RunList]:
        """The last 100, each with its deliveries' outcome."""
        await _found(reports, tenant_id, report_id)
        found = await reports.runs(tenant_id, report_id, MAX_RUNS)
        return Envelope(data=RunList(items=[run_view(r) for r in found]))

    @get("/{reportId:str}/runs/{runId:str}/file", summary="The file a run produced",
         responses=FILE_RESPONSES)
    async def file(self, report_id: ReportPath, run_id: RunPath,
                   reports: NamedDependency[ReportStore],
                   tenant_id: NamedDependency[str]) -> Stream:
        """Streamed as stored; kept 30 days (404 after, or while the run has none yet)."""
        found = await _found(reports, tenant_id, report_id)
        run = await reports.run(tenant_id, report_id, run_id)
        if run is None or not run.file_id or not await reports.has_file(tenant_id,
                                                                         run.file_id):
            raise NotFoundException("this run has no file (not yet produced, or expired)")
        kind = found.body.format
        return Stream(reports.file_chunks(tenant_id, run.file_id), media_type=MEDIA[kind],
                      headers={"Content-Type": MEDIA[kind], "Content-Disposition":
                               f'attachment; filename="{file_name(found.body.name, run, kind)}"'})
