"""The OpenAPI document's example answers (`src/chanalytics/api/examples.json`, recorded
from the demo by `scripts/openapi_examples.py`): one for every JSON endpoint, each exactly
of its response type, so the document never shows an answer the API does not give."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from chanalytics.alerts.model import AlertsData
from chanalytics.alerts.rules import RulesData, RuleView
from chanalytics.api.alerts import Reading
from chanalytics.api.analytics import Envelope
from chanalytics.api.examples import EXAMPLES
from chanalytics.api.live import TicketData
from chanalytics.api.scheduled_reports import ReportList, ReportView, RunList
from chanalytics.app import create_app
from chanalytics.budgets import Budget
from chanalytics.config import load_settings
from chanalytics.query.cohorts import CohortsData
from chanalytics.query.engagement import ContactEngagement, EngagementData
from chanalytics.query.funnel import FunnelData, WorkflowFunnelData
from chanalytics.query.pages import EventsData, ReportData
from chanalytics.query.presets.api_usage import ApiUsageData
from chanalytics.query.presets.campaign import CampaignComparisonData, CampaignData
from chanalytics.query.presets.campaigns import CampaignsData
from chanalytics.query.presets.channels import ChannelsData
from chanalytics.query.presets.costs import CostsData
from chanalytics.query.presets.deliverability import DeliverabilityData
from chanalytics.query.presets.messages import MessagesData
from chanalytics.query.presets.overview import OverviewData
from chanalytics.query.presets.realtime import RealtimeData
from chanalytics.query.presets.sequences import SequencesData
from chanalytics.query.presets.templates import TemplatesData
from chanalytics.query.presets.traffic import TrafficData
from chanalytics.query.presets.workflows import WorkflowsData
from chanalytics.query.suppressions import SuppressionsData

TYPES: dict[str, Any] = {
    "overview": Envelope[OverviewData], "messages": Envelope[MessagesData],
    "campaigns": Envelope[CampaignsData], "workflows": Envelope[WorkflowsData],
    "sequences": Envelope[SequencesData], "templates": Envelope[TemplatesData],
    "traffic": Envelope[TrafficData], "channels": Envelope[ChannelsData],
    "deliverability": Envelope[DeliverabilityData], "suppressions": Envelope[SuppressionsData],
    "costs": Envelope[CostsData], "budget": Budget, "events": Envelope[EventsData],
    "realtime": Envelope[RealtimeData], "ticket": Envelope[TicketData],
    "query": Envelope[ReportData], "api-usage": Envelope[ApiUsageData],
    "engagement": Envelope[EngagementData], "contactEngagement": Envelope[ContactEngagement],
    "campaign": Envelope[CampaignData], "campaignsCompare": Envelope[CampaignComparisonData],
    "funnel": Envelope[FunnelData], "workflowFunnel": Envelope[WorkflowFunnelData],
    "cohorts": Envelope[CohortsData],
    "alertRule": Envelope[RuleView], "alertRules": Envelope[RulesData],
    "alertRuleTest": Envelope[Reading], "alerts": Envelope[AlertsData],
    "reports": Envelope[ReportList], "report": Envelope[ReportView],
    "reportRuns": Envelope[RunList],
}


@pytest.mark.parametrize("name", sorted(TYPES))
def test_each_example_is_exactly_of_its_response_type(name: str) -> None:
    example = EXAMPLES[name]
    answer = msgspec.convert(example, TYPES[name])
    # Back to JSON, the example must be unchanged: no field missing, renamed or extra.
    assert msgspec.json.decode(msgspec.json.encode(answer)) == example


def test_every_json_answer_of_the_api_is_documented_with_an_example() -> None:
    doc = create_app(load_settings({})).openapi_schema.to_schema()
    missing = []
    for path, item in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            content = operation["responses"].get("200", {}).get("content", {})
            if "application/json" in content and not content["application/json"].get(
                    "examples"):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    assert set(EXAMPLES) == set(TYPES)
