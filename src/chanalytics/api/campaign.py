"""One campaign in depth, and campaigns side by side, under `/api/v1/analytics/campaigns/`
(`docs/api.md`): parameters to a preset (`query/presets/campaign.py`), as in
`analytics.py`. `GET /campaigns` itself, the list, is `analytics.py`'s.

`/campaigns/compare` is a path of its own: Litestar matches a literal segment before a
path parameter, so no campaign can be named `compare` here (ask the list for it).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from chanalytics.api.analytics import Envelope
from chanalytics.api.dependencies import WINDOW_90D
from chanalytics.api.examples import answered
from chanalytics.api.parameters import (
    ERROR_RESPONSES,
    CampaignChannel,
    Compare,
    GranularityHour,
    Limit,
    not_found,
)
from chanalytics.query.answer import answer
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.filters import (
    parse_channel,
    parse_compared_ids,
    parse_entity_id,
    parse_limit,
)
from chanalytics.query.presets.campaign import (
    CampaignComparisonData,
    CampaignData,
    campaign,
    campaign_comparison,
)
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_granularity

CampaignPath = Annotated[str, Parameter(
    description="The campaign, as events name it (`sourceId`, "
                                    "`campaignId`).")]
CampaignIds = Annotated[list[str] | None, QueryParameter(
    name="campaignId", description="A campaign to compare: 2 to 10 distinct ids, one per "
                                   "`campaignId`, answered in the order given.",
    schema_extra={"minItems": 2, "maxItems": 10})]
CAMPAIGN_RESPONSES = {**ERROR_RESPONSES, **not_found(
    "No event of the tenant ever named the campaign.", "no campaign 'cmp_unknown'")}


class CampaignController(Controller):
    """A campaign of the caller's tenant in depth, or several side by side."""

    path = "/api/v1/analytics/campaigns"
    tags = ("analytics",)
    security = ({"bearerAuth": []},)

    @get("/compare", summary="Campaigns side by side",
         responses=answered("campaignsCompare", Envelope[CampaignComparisonData]),
         dependencies={"window": WINDOW_90D})
    async def compare(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                      window: NamedDependency[TimeWindow], campaign_id: CampaignIds = None,
                      channel: CampaignChannel = None, compare: Compare = None,
                      ) -> Envelope[CampaignComparisonData]:
        """Each listed campaign's overview, in the order asked; zeros without events."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            entity_ids=parse_compared_ids(campaign_id, "campaignId"))
        return Envelope(data=await answer("campaigns_compare", campaign_comparison, engine,
                                          request, compare))

    @get("/{campaignId:str}", summary="One campaign in depth",
         responses=answered("campaign", Envelope[CampaignData], errors=CAMPAIGN_RESPONSES),
         dependencies={"window": WINDOW_90D})
    async def campaign(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                       window: NamedDependency[TimeWindow], campaignId: CampaignPath,
                       granularity: GranularityHour = None, channel: CampaignChannel = None,
                       limit: Limit = None, compare: Compare = None,
                       ) -> Envelope[CampaignData]:
        """Lifecycle, overview with rates, channels, time series, links, devices, places."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            granularity=parse_granularity(granularity, Granularity.HOUR),
            entity_id=parse_entity_id(campaignId, "campaignId"), limit=parse_limit(limit))
        return Envelope(data=await answer("campaign", campaign, engine, request, compare))
