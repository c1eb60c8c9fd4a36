"""The seven analytics endpoints under `/api/v1/analytics`: parameters to a preset.

A handler receives the engine, the tenant (from the bearer token alone) and the window
through `Provide`, validates its own parameters into a `QueryRequest` (every bad value a
`BadParameter` naming the parameter, raised before any query runs) and hands it with its
preset (`query/presets/`) to `query.answer`, which also runs the previous window with
`compare`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from chanalytics.api.dependencies import WINDOW_7D, WINDOW_30D
from chanalytics.api.examples import answered
from chanalytics.api.parameters import (
    CampaignChannel,
    CampaignId,
    Channel,
    Compare,
    GranularityDay,
    GranularityHour,
    Limit,
    MinUsage,
    SequenceId,
    TemplateId,
    WorkflowId,
)
from chanalytics.query.answer import answer
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.filters import parse_channel, parse_entity_id, parse_limit, parse_min_usage
from chanalytics.query.presets.campaigns import CampaignsData, campaigns
from chanalytics.query.presets.messages import MessagesData, messages
from chanalytics.query.presets.overview import OverviewData, overview
from chanalytics.query.presets.sequences import SequencesData, sequences
from chanalytics.query.presets.templates import TemplatesData, templates
from chanalytics.query.presets.traffic import TrafficData, traffic
from chanalytics.query.presets.workflows import WorkflowsData, workflows
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_granularity

T = TypeVar("T", bound=msgspec.Struct)


class Envelope(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The success envelope: `{"success": true, "data": {...}}`."""

    success: bool = True
    data: T


class AnalyticsController(Controller):
    """Dashboard analytics of the caller's tenant."""

    path = "/api/v1/analytics"
    tags = ("analytics",)
    security = ({"bearerAuth": []},)

    @get("/overview", summary="Totals, per-channel totals and a daily trend",
         responses=answered("overview", Envelope[OverviewData]), dependencies={"window": WINDOW_7D})
    async def overview(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                       channel: Channel = None, compare: Compare = None,
                       ) -> Envelope[OverviewData]:
        """Messages sent, delivered, opened and clicked, with rates, per channel and per day."""
        request = QueryRequest(tenant_id=tenant_id, window=window, channel=parse_channel(channel))
        return Envelope(data=await answer("overview", overview, engine, request, compare))

    @get("/messages", summary="Message counts, time series and per-channel rates",
         responses=answered("messages", Envelope[MessagesData]), dependencies={"window": WINDOW_7D})
    async def messages(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                       granularity: GranularityDay = None, channel: Channel = None,
                       compare: Compare = None) -> Envelope[MessagesData]:
        """Every message event count, a zero-filled time series and rates per channel."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            granularity=parse_granularity(granularity, Granularity.DAY))
        return Envelope(data=await answer("messages", messages, engine, request, compare))

    @get("/campaigns", summary="Campaign totals, top campaigns and a time series",
         responses=answered("campaigns", Envelope[CampaignsData]),
         dependencies={"window": WINDOW_30D})
    async def campaigns(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                        granularity: GranularityDay = None, channel: CampaignChannel = None,
                        campaign_id: CampaignId = None, limit: Limit = None,
                        compare: Compare = None) -> Envelope[CampaignsData]:
        """Campaigns active in the range, their recipients and rates, ranked by messages sent."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            granularity=parse_granularity(granularity, Granularity.DAY),
            entity_id=parse_entity_id(campaign_id, "campaignId"), limit=parse_limit(limit))
        return Envelope(data=await answer("campaigns", campaigns, engine, request, compare))

    @get("/workflows", summary="Workflow run totals, top workflows and a time series",
         responses=answered("workflows", Envelope[WorkflowsData]),
         dependencies={"window": WINDOW_30D})
    async def workflows(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                        granularity: GranularityDay = None, workflow_id: WorkflowId = None,
                        limit: Limit = None, compare: Compare = None,
                        ) -> Envelope[WorkflowsData]:
        """Runs started, completed, failed and reaching their goal, ranked by runs."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window,
            granularity=parse_granularity(granularity, Granularity.DAY),
            entity_id=parse_entity_id(workflow_id, "workflowId"), limit=parse_limit(limit))
        return Envelope(data=await answer("workflows", workflows, engine, request, compare))

    @get("/sequences", summary="Enrollment totals, step funnel and top sequences",
         responses=answered("sequences", Envelope[SequencesData]),
         dependencies={"window": WINDOW_30D})
    async def sequences(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                        sequence_id: SequenceId = None, limit: Limit = None,
                        compare: Compare = None) -> Envelope[SequencesData]:
        """Enrollments, active enrollments at the end of the range, replies per step."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window,
            entity_id=parse_entity_id(sequence_id, "sequenceId"), limit=parse_limit(limit))
        return Envelope(data=await answer("sequences", sequences, engine, request, compare))

    @get("/templates", summary="Most used and worst performing templates",
         responses=answered("templates", Envelope[TemplatesData]),
         dependencies={"window": WINDOW_30D})
    async def templates(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                        channel: Channel = None, template_id: TemplateId = None,
                        limit: Limit = None, min_usage: MinUsage = None,
                        compare: Compare = None) -> Envelope[TemplatesData]:
        """Templates by usage, and those used at least minUsage times by open rate."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            entity_id=parse_entity_id(template_id, "templateId"), limit=parse_limit(limit),
            min_usage=parse_min_usage(min_usage))
        return Envelope(data=await answer("templates", templates, engine, request, compare))

    @get("/traffic", summary="Messages sent by local hour, weekday and over time",
         responses=answered("traffic", Envelope[TrafficData]), dependencies={"window": WINDOW_7D})
    async def traffic(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
            window: NamedDependency[TimeWindow],
                      granularity: GranularityHour = None, channel: Channel = None,
                      compare: Compare = None) -> Envelope[TrafficData]:
        """Messages sent per local hour of day (all 24), weekday (all 7) and bucket."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            granularity=parse_granularity(granularity, Granularity.HOUR))
        return Envelope(data=await answer("traffic", traffic, engine, request, compare))


def system_clock() -> datetime:
    """Now, in UTC: what `timeRange` presets end at."""
    return datetime.now(UTC)
