"""The seven analytics endpoints under `/api/v1/analytics`.

Handlers only read parameters, validate them into a `QueryRequest` (every bad value
is a `BadParameter` naming the parameter, raised before any query runs) and hand it
to the endpoint's query service. The tenant comes from the bearer token alone.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Generic, TypeVar

import msgspec
import structlog
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from chanalytics.api.auth import authenticate
from chanalytics.api.parameters import (
    ERROR_RESPONSES,
    CampaignChannel,
    CampaignId,
    Channel,
    EndDate,
    GranularityDay,
    GranularityHour,
    Limit,
    MinUsage,
    SequenceId,
    StartDate,
    TemplateId,
    TimeRange7d,
    TimeRange30d,
    Timezone,
    WorkflowId,
)
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import parse_channel, parse_entity_id, parse_limit, parse_min_usage
from chanalytics.query.presets.campaigns import CampaignsData, campaigns
from chanalytics.query.presets.messages import MessagesData, messages
from chanalytics.query.presets.overview import OverviewData, overview
from chanalytics.query.presets.sequences import SequencesData, sequences
from chanalytics.query.presets.templates import TemplatesData, templates
from chanalytics.query.presets.traffic import TrafficData, traffic
from chanalytics.query.presets.workflows import WorkflowsData, workflows
from chanalytics.query.request import QueryRequest, utc_text
from chanalytics.query.timerange import Granularity, parse_granularity, parse_window
from chanalytics.storage import Storage, StorageError

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The success envelope: `{"success": true, "data": {...}}`."""

    success: bool = True
    data: T


@dataclass(frozen=True)
class AnalyticsQueries:
    """The query engine of the process's storage."""

    storage: Storage
    engine: Engine


def build_queries(storage: Storage, engine: Engine | None = None) -> AnalyticsQueries:
    return AnalyticsQueries(storage=storage, engine=engine or Engine(storage))


Preset = Callable[[Engine, QueryRequest], Awaitable[T]]


def _window_request(
    state: State, tenant_id: str, *, default_range: str, time_range: str | None,
    start_date: str | None, end_date: str | None, timezone: str | None,
    granularity: Granularity = Granularity.DAY, channel: str | None = None,
    entity_id: str | None = None, limit: int = 10, min_usage: int = 100,
) -> QueryRequest:
    window = parse_window(time_range=time_range, start_date=start_date, end_date=end_date,
                          timezone=timezone, default_range=default_range, now=state.clock())
    return QueryRequest(tenant_id=tenant_id, window=window, granularity=granularity,
                        channel=channel, entity_id=entity_id, limit=limit, min_usage=min_usage)


async def _answer(
    state: State, endpoint: str, build: Callable[[], QueryRequest], preset: Preset[T],
) -> Envelope[T]:
    """Validate, run and time one request: latency per endpoint and status, and a log line."""
    started = time.perf_counter()
    status = 500
    try:
        request = build()
        data = await preset(state.queries.engine, request)
        status = 200
    except BadParameter:
        status = 400
        raise
    except StorageError:
        status = 503
        raise
    finally:
        seconds = time.perf_counter() - started
        state.metrics.api_seconds.labels(endpoint=endpoint, status=str(status)).observe(seconds)
    log.info("query.executed", tenant_id=request.tenant_id, query_type=endpoint,
             start=utc_text(request.window.start), end=utc_text(request.window.end),
             timezone=request.window.tz_name, granularity=request.granularity.value,
             duration_ms=round(seconds * 1000, 2))
    return Envelope(data=data)


class AnalyticsController(Controller):
    """Dashboard analytics of the caller's tenant."""

    path = "/api/v1/analytics"
    tags = ("analytics",)
    dependencies = MappingProxyType({"tenant_id": Provide(authenticate, sync_to_thread=False)})
    security = ({"bearerAuth": []},)

    @get("/overview", summary="Totals, per-channel totals and a daily trend",
         responses=ERROR_RESPONSES)
    async def overview(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange7d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        channel: Channel = None,
    ) -> Envelope[OverviewData]:
        """Messages sent, delivered, opened and clicked, with rates, per channel and per day."""
        return await _answer(state, "overview", lambda: _window_request(
            state, tenant_id, default_range="7d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone, channel=parse_channel(channel),
        ), overview)

    @get("/messages", summary="Message counts, time series and per-channel rates",
         responses=ERROR_RESPONSES)
    async def messages(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange7d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        granularity: GranularityDay = None, channel: Channel = None,
    ) -> Envelope[MessagesData]:
        """Every message event count, a zero-filled time series and rates per channel."""
        return await _answer(state, "messages", lambda: _window_request(
            state, tenant_id, default_range="7d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone,
            granularity=parse_granularity(granularity, Granularity.DAY),
            channel=parse_channel(channel),
        ), messages)

    @get("/campaigns", summary="Campaign totals, top campaigns and a time series",
         responses=ERROR_RESPONSES)
    async def campaigns(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange30d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        granularity: GranularityDay = None, channel: CampaignChannel = None,
        campaign_id: CampaignId = None, limit: Limit = None,
    ) -> Envelope[CampaignsData]:
        """Campaigns active in the range, their recipients and rates, ranked by messages sent."""
        return await _answer(state, "campaigns", lambda: _window_request(
            state, tenant_id, default_range="30d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone,
            granularity=parse_granularity(granularity, Granularity.DAY),
            channel=parse_channel(channel),
            entity_id=parse_entity_id(campaign_id, "campaignId"), limit=parse_limit(limit),
        ), campaigns)

    @get("/workflows", summary="Workflow run totals, top workflows and a time series",
         responses=ERROR_RESPONSES)
    async def workflows(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange30d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        granularity: GranularityDay = None, workflow_id: WorkflowId = None,
        limit: Limit = None,
    ) -> Envelope[WorkflowsData]:
        """Runs started, completed, failed and reaching their goal, ranked by runs."""
        return await _answer(state, "workflows", lambda: _window_request(
            state, tenant_id, default_range="30d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone,
            granularity=parse_granularity(granularity, Granularity.DAY),
            entity_id=parse_entity_id(workflow_id, "workflowId"), limit=parse_limit(limit),
        ), workflows)

    @get("/sequences", summary="Enrollment totals, step funnel and top sequences",
         responses=ERROR_RESPONSES)
    async def sequences(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange30d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        sequence_id: SequenceId = None, limit: Limit = None,
    ) -> Envelope[SequencesData]:
        """Enrollments, active enrollments at the end of the range, replies per step."""
        return await _answer(state, "sequences", lambda: _window_request(
            state, tenant_id, default_range="30d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone,
            entity_id=parse_entity_id(sequence_id, "sequenceId"), limit=parse_limit(limit),
        ), sequences)

    @get("/templates", summary="Most used and worst performing templates",
         responses=ERROR_RESPONSES)
    async def templates(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange30d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        channel: Channel = None, template_id: TemplateId = None, limit: Limit = None,
        min_usage: MinUsage = None,
    ) -> Envelope[TemplatesData]:
        """Templates by usage, and those used at least minUsage times by open rate."""
        return await _answer(state, "templates", lambda: _window_request(
            state, tenant_id, default_range="30d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone, channel=parse_channel(channel),
            entity_id=parse_entity_id(template_id, "templateId"), limit=parse_limit(limit),
            min_usage=parse_min_usage(min_usage),
        ), templates)

    @get("/traffic", summary="Messages sent by local hour, weekday and over time",
         responses=ERROR_RESPONSES)
    async def traffic(
        self, state: State, tenant_id: NamedDependency[str], time_range: TimeRange7d = None,
        start_date: StartDate = None, end_date: EndDate = None, timezone: Timezone = None,
        granularity: GranularityHour = None, channel: Channel = None,
    ) -> Envelope[TrafficData]:
        """Messages sent per local hour of day (all 24), weekday (all 7) and bucket."""
        return await _answer(state, "traffic", lambda: _window_request(
            state, tenant_id, default_range="7d", time_range=time_range, start_date=start_date,
            end_date=end_date, timezone=timezone,
            granularity=parse_granularity(granularity, Granularity.HOUR),
            channel=parse_channel(channel),
        ), traffic)


def system_clock() -> datetime:
    """Now, in UTC: what `timeRange` presets end at."""
    return datetime.now(UTC)
