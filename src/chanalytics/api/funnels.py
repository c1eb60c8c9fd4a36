"""Funnels and cohorts under `/api/v1/analytics` (`docs/api.md#funnel`, `#cohorts`):
parameters to the funnel and cohort services (`query/funnel.py`, `query/cohorts.py`),
answered through `query.answer` like the presets, `compare` included."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from chanalytics.api.analytics import Envelope
from chanalytics.api.dependencies import WINDOW_30D, WINDOW_90D
from chanalytics.api.examples import answered
from chanalytics.api.parameters import (
    CampaignId,
    Channel,
    Compare,
    TemplateId,
    WindowHours,
    WorkflowId,
)
from chanalytics.query.answer import answer
from chanalytics.query.clock import TimeWindow
from chanalytics.query.cohorts import CohortsData, check_weeks, cohorts
from chanalytics.query.engine import Engine
from chanalytics.query.filters import parse_channel, parse_entity_id
from chanalytics.query.funnel import (
    FunnelData,
    FunnelOptions,
    WorkflowFunnelData,
    message_funnel,
    parse_window_hours,
    preset,
    workflow_funnel,
)
from chanalytics.query.request import QueryRequest


class FunnelController(Controller):
    """How far the caller's tenant's messages and runs get, and how its contacts return."""

    path = "/api/v1/analytics"
    tags = ("audience",)
    security = ({"bearerAuth": []},)

    @get("/funnel", summary="Messages from sent to delivered, opened and clicked",
         responses=answered("funnel", Envelope[FunnelData]), dependencies={"window": WINDOW_30D})
    async def funnel(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                     window: NamedDependency[TimeWindow], channel: Channel = None,
                     campaign_id: CampaignId = None, template_id: TemplateId = None,
                     window_hours: WindowHours = None, compare: Compare = None,
                     ) -> Envelope[FunnelData]:
        """The messages sent in the range, and how many of them were delivered, opened and
        clicked within `windowHours` of their send, each step counting only messages that
        reached every step before it; in total and per channel."""
        options = FunnelOptions(window_hours=parse_window_hours(window_hours),
                                campaign_id=parse_entity_id(campaign_id, "campaignId"),
                                template_id=parse_entity_id(template_id, "templateId"))
        request = QueryRequest(tenant_id=tenant_id, window=window, channel=parse_channel(channel))
        return Envelope(data=await answer("funnel", preset(message_funnel, options), engine,
                                          request, compare))

    @get("/funnel/workflows", summary="Workflow runs from started to completed and goal",
         responses=answered("workflowFunnel", Envelope[WorkflowFunnelData]),
         dependencies={"window": WINDOW_30D})
    async def workflow_funnel(self, engine: NamedDependency[Engine],
                              tenant_id: NamedDependency[str],
                              window: NamedDependency[TimeWindow], workflow_id: WorkflowId = None,
                              window_hours: WindowHours = None, compare: Compare = None,
                              ) -> Envelope[WorkflowFunnelData]:
        """The runs started in the range, and how many completed (status completed) and
        reached their goal within `windowHours` of their start."""
        options = FunnelOptions(window_hours=parse_window_hours(window_hours),
                                workflow_id=parse_entity_id(workflow_id, "workflowId"))
        request = QueryRequest(tenant_id=tenant_id, window=window)
        return Envelope(data=await answer("funnel_workflows", preset(workflow_funnel, options),
                                          engine, request, compare))

    @get("/cohorts", summary="Contacts by the week of their first send, and their retention",
         responses=answered("cohorts", Envelope[CohortsData]), dependencies={"window": WINDOW_90D})
    async def cohorts(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                      window: NamedDependency[TimeWindow], compare: Compare = None,
                      ) -> Envelope[CohortsData]:
        """Per local week (from Monday, in `timezone`) of the range, at most 26: the contacts
        first sent a message that week, and per week since, how many opened or clicked."""
        check_weeks(window)
        request = QueryRequest(tenant_id=tenant_id, window=window)
        return Envelope(data=await answer("cohorts", cohorts, engine, request, compare))
