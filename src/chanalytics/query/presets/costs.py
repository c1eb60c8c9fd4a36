"""`GET /costs`: spend in total, per channel, provider and campaign, a series, and the
tenant's monthly budget as of now (`docs/delivery.md`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import msgspec

from chanalytics.budgets import Budget, BudgetStore, month_bounds
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.metrics import metric_values
from chanalytics.query.model import Filter
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.timerange import parse_timezone

Values = Mapping[str, Any]
MEASURES = ("cost", "sent", "costed")
BudgetStatus = Literal["ok", "75%", "90%", "exceeded"]


class CostSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total_cost: float
    messages: int
    costed_messages: int
    avg_cost_per_message: float | None


class ChannelCost(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    total_cost: float
    messages: int
    avg_cost_per_message: float | None


class ProviderCost(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    provider: str
    total_cost: float
    messages: int
    avg_cost_per_message: float | None


class CampaignCost(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    campaign_id: str
    name: str | None
    total_cost: float
    messages: int
    avg_cost_per_message: float | None


class CostPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime
    total_cost: float
    messages: int


class BudgetState(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    monthly_budget: float
    month: str
    spent: float
    percent_used: float
    projected_spend: float
    status: BudgetStatus


class CostsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    time_range: TimeRange
    summary: CostSummary
    by_channel: list[ChannelCost]
    by_provider: list[ProviderCost]
    top_campaigns: list[CampaignCost]
    time_series: list[CostPoint]
    budget: BudgetState | None
    comparison: CostsData | None = None
    change: dict[str, float | None] | None = None


# Each spend row's fields, by catalogue name.
SPENT = {"total_cost": "totalCost", "messages": "sent"}
SPEND = {**SPENT, "avg_cost_per_message": "avgCostPerMessage"}


def _by_cost(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(keys…, values) rows by total cost desc, then keys."""
    return sorted(rows, key=lambda r: (-r[-1]["cost"], *r[:-1]))


async def budget_state(engine: Engine, tenant_id: str, budget: Budget,
                       now: datetime) -> BudgetState:
    """Spend of the budget's local month up to now, against the budget."""
    start, end, month = month_bounds(now, budget.timezone)
    spent = Decimal(0)
    if now > start:
        window = TimeWindow(start=start, end=now, tz=parse_timezone(budget.timezone),
                            tz_name=budget.timezone)
        request = QueryRequest(tenant_id=tenant_id, window=window)
        spent = (await engine.run(request.query(("cost",)))).total()["cost"]
    # The month's spend against the budget and the elapsed part of the month (to the
    # microsecond), the inputs of the catalogue's budget numbers.
    inputs = {"cost": spent, "monthly_budget": Decimal(repr(budget.monthly_budget)),
              "elapsed": Fraction(int((now - start).total_seconds() * 1_000_000),
                                  int((end - start).total_seconds() * 1_000_000))}
    return BudgetState(
        monthly_budget=budget.monthly_budget, month=month,
        **metric_values(inputs, spent="totalCost", percent_used="percentUsed",
                        projected_spend="projectedSpend", status="budgetStatus"))


async def current_budget(engine: Engine, budgets: BudgetStore, tenant_id: str,
                         now: datetime) -> BudgetState | None:
    """The tenant's budget as of `now`, or None when it has none."""
    budget = await budgets.get(tenant_id)
    return None if budget is None else await budget_state(engine, tenant_id, budget, now)


async def costs(engine: Engine, request: QueryRequest, *, budgets: BudgetStore | None = None,
                now: datetime | None = None) -> CostsData:
    """Spend in the window; with `budgets` and `now`, the budget read at the same time as
    the spend (one round trip less than reading it first)."""
    only = request.delivery_filters()
    campaigns = Filter("campaign", "isNot", (None,))
    (totals, by_campaign, series), known, state = await asyncio.gather(
        engine.run_all(
            request.query(MEASURES, (), ("channel",), ("channel", "provider"), filters=only),
            request.query(MEASURES, ("campaign",), filters=(*only, campaigns)),
            request.query(("cost", "sent"), ("time",), filters=only)),
        engine.all_names(request.tenant_id, "campaign"),
        current_budget(engine, budgets, request.tenant_id, now)
        if budgets is not None and now is not None else asyncio.sleep(0, None))
    t = totals.total()
    top = _by_cost([(c, v) for (c,), v in by_campaign.by(("campaign",)).items()
                    if v["sent"]])[: request.limit]
    names = await engine.latest_names(request.tenant_id, "campaign",
                               [c for c, _ in top], known)
    return CostsData(
        time_range=TimeRange.of(request.window),
        summary=CostSummary(costed_messages=t["costed"], **metric_values(t, **SPEND)),
        by_channel=[ChannelCost(channel=c, **metric_values(v, **SPEND))
                    for c, v in _by_cost([(c, v) for (c,), v in totals.by(("channel",)).items()
                                          if v["sent"]])],
        by_provider=[ProviderCost(channel=c, provider=p, **metric_values(v, **SPEND))
                     for c, p, v in _by_cost([(c, p, v) for (c, p), v in totals.by(
                         ("channel", "provider")).items() if v["sent"]])],
        top_campaigns=[CampaignCost(campaign_id=c, name=names.get(c),
                                    **metric_values(v, **SPEND))
                       for c, v in top],
        time_series=[CostPoint(timestamp=start, **metric_values(v, **SPENT))
                     for start, v in series.series()],
        budget=state,
    )
