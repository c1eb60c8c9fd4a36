"""Engagement under `/api/v1/analytics` (`docs/api.md#engagement`): parameters to the
engagement service (`query/engagement.py`), which pages and keeps answers itself."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from chanalytics.api.analytics import Envelope
from chanalytics.api.examples import answered
from chanalytics.api.parameters import AsOf, ContactPath, Cursor, EngagementLevel, PageLimit
from chanalytics.query.engagement import (
    ContactEngagement,
    EngagementData,
    contact_engagement,
    engagement,
)
from chanalytics.query.engagement_params import contact_query, engagement_query
from chanalytics.query.engine import Engine


class AudienceController(Controller):
    """How engaged the caller's tenant's contacts are."""

    path = "/api/v1/analytics"
    tags = ("audience",)
    security = ({"bearerAuth": []},)

    @get("/contacts/{contactId:str}/engagement", summary="One contact's engagement score",
         responses=answered("contactEngagement", Envelope[ContactEngagement]))
    async def contact(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                      contact_id: ContactPath, as_of: AsOf = None,
                      ) -> Envelope[ContactEngagement]:
        """Score, level, latest event and the scored events of the last 90 UTC dates at
        `asOf`; a contact no event named scores 0, `inactive`."""
        query = contact_query(tenant_id, contact_id, as_of)
        return Envelope(data=await contact_engagement(engine, query))

    @get("/engagement", summary="Contacts ranked by engagement score, and counts per level",
         responses=answered("engagement", Envelope[EngagementData]))
    async def engagement(self, engine: NamedDependency[Engine],
                         tenant_id: NamedDependency[str], level: EngagementLevel = None,
                         limit: PageLimit = None, cursor: Cursor = None, as_of: AsOf = None,
                         ) -> Envelope[EngagementData]:
        """Every contact an event named, counted per level; a page of them by score (desc),
        then contactId, with `level` filtering the page. Cursor pages keep the first page's
        `asOf`."""
        query = engagement_query(tenant_id, level=level, limit=limit, cursor=cursor,
                                 as_of=as_of)
        return Envelope(data=await engagement(engine, query))
