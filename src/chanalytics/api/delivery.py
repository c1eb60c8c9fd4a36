"""Delivery quality and money under `/api/v1/analytics` (`docs/delivery.md`): parameters to
a preset, as in `analytics.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import Operation

from chanalytics.api.analytics import Envelope
from chanalytics.api.body_docs import request_body
from chanalytics.api.dependencies import WINDOW_30D
from chanalytics.api.examples import answered
from chanalytics.api.parameters import (
    ERROR_RESPONSES,
    Channel,
    Compare,
    ContactId,
    Cursor,
    GranularityDay,
    Limit,
    PageLimit,
    Provider,
    SuppressionReason,
    not_found,
)
from chanalytics.budgets import MAX_BUDGET, Budget, BudgetStore
from chanalytics.query.answer import answer
from chanalytics.query.body import BodyDecoder
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.filters import parse_channel, parse_limit, parse_provider
from chanalytics.query.presets.channels import ChannelsData, channels
from chanalytics.query.presets.costs import CostsData, costs
from chanalytics.query.presets.deliverability import DeliverabilityData, deliverability
from chanalytics.query.request import QueryRequest
from chanalytics.query.suppressions import (
    SuppressionsData,
    parse_suppressions_query,
    suppressions_page,
)
from chanalytics.query.timerange import parse_granularity, parse_timezone

BUDGET_RESPONSES = {**ERROR_RESPONSES, **not_found("No budget is set.", "no budget is set")}


class BudgetBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                 forbid_unknown_fields=True):
    monthly_budget: Annotated[float, msgspec.Meta(gt=0, le=MAX_BUDGET)]
    timezone: str | None = None


_budget_decoder = BodyDecoder(BudgetBody, "invalid_budget")


def parse_budget(raw: bytes) -> Budget:
    """A PUT body as a Budget; every bad value a BadParameter naming its field."""
    body = _budget_decoder.decode(raw)
    zone = parse_timezone(body.timezone).key if body.timezone is not None else "UTC"
    return Budget(monthly_budget=body.monthly_budget, timezone=zone)


BUDGET_BODY = request_body(BudgetBody, {
    "1,500 USD a month, months of Berlin": {"monthlyBudget": 1500.0,
                                           "timezone": "Europe/Berlin"},
    "25 USD a month, UTC months": {"monthlyBudget": 25.0}},
    "`monthlyBudget` above 0, at most 1e12 (USD); `timezone` the IANA zone of its months, "
    "default UTC. Any other key answers 400 naming it.")


@dataclass
class BudgetOperation(Operation):
    """PUT /budget reads its body itself (to name a bad field in a 400); this documents it."""

    def __post_init__(self) -> None:
        self.request_body = BUDGET_BODY


class DeliveryController(Controller):
    """Providers, deliverability and costs of the caller's tenant."""

    path = "/api/v1/analytics"
    tags = ("delivery",)
    security = ({"bearerAuth": []},)

    @get("/channels", summary="Channel and provider performance: rates, latency, cost, score",
         responses=answered("channels", Envelope[ChannelsData]),
         dependencies={"window": WINDOW_30D})
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
        return Envelope(data=await answer("channels", channels, engine, request, compare))

    @get("/deliverability", summary="Bounces, complaints, unsubscribes, failures, suppressions",
         responses=answered("deliverability", Envelope[DeliverabilityData]),
         dependencies={"window": WINDOW_30D})
    async def deliverability(self, engine: NamedDependency[Engine],
                             tenant_id: NamedDependency[str], window: NamedDependency[TimeWindow],
                             granularity: GranularityDay = None, channel: Channel = None,
                             limit: Limit = None, compare: Compare = None,
                             ) -> Envelope[DeliverabilityData]:
        """Rates of the sender's reputation, the commonest bounce reasons, a series, and the
        contacts suppressed by the end of the range."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            limit=parse_limit(limit), granularity=parse_granularity(granularity, Granularity.DAY))
        data = await answer("deliverability", deliverability, engine, request, compare)
        return Envelope(data=data)

    @get("/suppressions", summary="Contacts that must not be messaged again, per channel",
         responses=answered("suppressions", Envelope[SuppressionsData]))
    async def suppressions(self, engine: NamedDependency[Engine],
                           tenant_id: NamedDependency[str], channel: Channel = None,
                           reason: SuppressionReason = None, contact_id: ContactId = None,
                           limit: PageLimit = None, cursor: Cursor = None,
                           ) -> Envelope[SuppressionsData]:
        """The state as of now: each suppressed (contact, channel) with the reason, instant
        and message of its earliest suppressing event; newest first, by cursor pages."""
        query = parse_suppressions_query(tenant_id, channel=channel, reason=reason,
                                         contact_id=contact_id, limit=limit, cursor=cursor)
        return Envelope(data=await suppressions_page(engine, query))

    @get("/costs", summary="Spend per channel, provider and campaign, and the monthly budget",
         responses=answered("costs", Envelope[CostsData]), dependencies={"window": WINDOW_30D})
    async def costs(self, now: NamedDependency[datetime], engine: NamedDependency[Engine],
                    budgets: NamedDependency[BudgetStore], tenant_id: NamedDependency[str],
                    window: NamedDependency[TimeWindow], granularity: GranularityDay = None,
                    channel: Channel = None, provider: Provider = None, limit: Limit = None,
                    compare: Compare = None) -> Envelope[CostsData]:
        """Exact spend (USD) of sent messages; `budget`: this local month's spend against the
        tenant's monthly budget, whatever the range."""
        request = QueryRequest(
            tenant_id=tenant_id, window=window, channel=parse_channel(channel),
            provider=parse_provider(provider), limit=parse_limit(limit),
            granularity=parse_granularity(granularity, Granularity.DAY))
        preset = partial(costs, budgets=budgets, now=now)
        return Envelope(data=await answer("costs", preset, engine, request, compare))

    @get("/budget", summary="The tenant's monthly budget",
         responses=answered("budget", Budget, "The budget", BUDGET_RESPONSES))
    async def get_budget(self, budgets: NamedDependency[BudgetStore],
                         tenant_id: NamedDependency[str]) -> Budget:
        """404 when none is set."""
        budget = await budgets.get(tenant_id)
        if budget is None:
            raise NotFoundException("no budget is set")
        return budget

    @put("/budget", summary="Set the tenant's monthly budget",
         responses=answered("budget", Budget, "The stored budget"),
         operation_class=BudgetOperation)
    async def put_budget(self, request: Request[Any, Any, State],
                         budgets: NamedDependency[BudgetStore],
                         tenant_id: NamedDependency[str]) -> Budget:
        """`{"monthlyBudget": 1500.0, "timezone": "Europe/Berlin"}`: above 0, at most 1e12;
        an IANA zone, default UTC. Answers the stored budget."""
        return await budgets.put(tenant_id, parse_budget(await request.body()))

    @delete("/budget", summary="Remove the tenant's monthly budget", status_code=204,
            responses=ERROR_RESPONSES)
    async def delete_budget(self, budgets: NamedDependency[BudgetStore],
                            tenant_id: NamedDependency[str]) -> None:
        await budgets.delete(tenant_id)
