"""`GET /templates`: per-template usage and engagement, the most used and the worst opened."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Mapping
from typing import Any

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import CATALOGUE, metric_values
from chanalytics.query.model import Filter, Result
from chanalytics.query.names import Names
from chanalytics.query.request import QueryRequest, TimeRange

TEMPLATE_MESSAGES = Filter("template", "isNot", (None,))
MEASURES = ("message_events", "sent", "delivered", "opened", "clicked")
OPEN_RATE = CATALOGUE["openRate"]


class TemplateRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    template_id: str
    name: str | None
    usage_count: int
    delivered: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float


class TemplatesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                    omit_defaults=True):
    time_range: TimeRange
    top_templates: list[TemplateRow]
    worst_performing: list[TemplateRow]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: TemplatesData | None = None
    change: dict[str, float | None] | None = None


async def templates(engine: Engine, request: QueryRequest) -> TemplatesData:
    """Templates by usage, and those used at least minUsage times by open rate."""
    filters = (TEMPLATE_MESSAGES, *request.channel_filter(), *request.entity_filter("template"))
    counts: Result  # gather's mixed-type overload loses the types
    known: Names | None
    counts, known = await asyncio.gather(
        engine.run(request.query(MEASURES, ("template",), filters=filters)),
        engine.all_names(request.tenant_id, "template"),
    )
    per_template = {t: v for t, v in counts.by_one("template").items() if v["message_events"]}

    def usage(t: str) -> int:
        return int(per_template[t]["sent"])

    def open_ratio(t: str) -> Any:
        return OPEN_RATE.order_value(per_template[t])

    top = heapq.nsmallest(request.limit, per_template, key=lambda t: (-usage(t), t))
    # Ordered by the exact open rate: two rates that round alike still rank apart.
    # nsmallest compares far fewer Fractions than a full sort of thousands.
    worst = heapq.nsmallest(request.limit,
                            (t for t in per_template if usage(t) >= request.min_usage),
                            key=lambda t: (open_ratio(t), -usage(t), t))
    names = await engine.latest_names(request.tenant_id, "template", {*top, *worst},
                               known)

    def row(t: str, v: Mapping[str, Any]) -> TemplateRow:
        return TemplateRow(template_id=t, name=names[t], usage_count=v["sent"],
                           delivered=v["delivered"], opened=v["opened"], clicked=v["clicked"],
                           **metric_values(v, open_rate="openRate", click_rate="clickRate"))

    return TemplatesData(time_range=TimeRange.of(request.window),
                         top_templates=[row(t, per_template[t]) for t in top],
                         worst_performing=[row(t, per_template[t]) for t in worst])
