"""Delivery quality and money under `/api/v1/analytics` (`API-DELIVERY.md`): parameters to
a preset, as in `analytics.py`."""

from __future__ import annotations

from types import MappingProxyType

from litestar import Controller, get
from litestar.di import NamedDependency

from chanalytics.api.analytics import Envelope, answer
from chanalytics.api.auth import AUTH
from chanalytics.api.dependencies import ENGINE, WINDOW_30D
from chanalytics.api.parameters import (
    ERROR_RESPONSES,
    Channel,
    Compare,
    GranularityDay,
    Limit,
    Provider,
)
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.filters import parse_channel, parse_limit, parse_provider
from chanalytics.query.presets.channels import ChannelsData, channels
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_granularity


class DeliveryController(Controller):
    """Providers, deliverability and costs of the caller's tenant."""

    path = "/api/v1/analytics"
    tags = ("delivery",)
    dependencies = MappingProxyType({"tenant_id": AUTH, "engine": ENGINE})
    security = ({"bearerAuth": []},)

    @get("/channels", summary="Channel and provider performance: rates, latency, cost, score",
         responses=ERROR_RESPONSES, dependencies={"window": WINDOW_30D})
    async def channels(self, engine: NamedDependency[Engine], tenant_id: NamedDependency[str],
                       window: NamedDependency[TimeWindow], granularity: GranularityDay = None,
                       channel: Channel = None, provider: Provider = None, limit: Limit = None,
                       compare: Compare = None) -> Envelope[ChannelsData]:
        """Per channel and per provider: outcomes, latency percentiles, cost and the composite
        score; the commonest error codes; a series with p95 latency."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            provider=parse_provider(provider), limit=parse_limit(limit),
            granularity=parse_granularity(granularity, Granularity.DAY))
        return await answer("channels", channels, engine, request, compare)
