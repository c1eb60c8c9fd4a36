"""`GET /templates`: per-template usage and engagement, the most used and the worst opened."""

from __future__ import annotations

import asyncio
import heapq
from fractions import Fraction
from typing import NamedTuple

import msgspec

from chanalytics.query.buckets import NO_SERIES
from chanalytics.query.distinct import DistinctCounts, distinct_counts
from chanalytics.query.names import Names, all_names, latest_names
from chanalytics.query.rates import percent, ratio
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.statements import statement
from chanalytics.storage import Storage


class TemplateEvents(NamedTuple):
    """A template's messages sent and delivered: a row of template_counts.sql."""

    sent: int
    delivered: int


class TemplateRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    template_id: str
    name: str | None
    usage_count: int
    delivered: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float


class TemplatesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    top_templates: list[TemplateRow]
    worst_performing: list[TemplateRow]


class TemplatesQuery:
    """Answers `templates` from the template and key rollups (plus raw edge slices)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> TemplatesData:
        params = request.params(template_id=request.entity_id or "")
        level = "template+channel" if request.channel else "template"
        keys: DistinctCounts  # gather's mixed-type overload loses the types
        known: Names | None
        count_rows, keys, known = await asyncio.gather(
            self.storage.query(statement("template_counts", params=params), params),
            distinct_counts(self.storage, params, NO_SERIES, [level]),
            all_names(self.storage, request.tenant_id, "template"),
        )
        events = {template_id: TemplateEvents(sent, delivered)
                  for template_id, sent, delivered in count_rows}  # one row per template

        def distinct(template_id: str, metric: str) -> int:
            return keys.of(level, template_id, metric)

        def usage(t: str) -> int:
            return events[t].sent

        def open_ratio(t: str) -> Fraction:
            return ratio(distinct(t, "opened"), events[t].delivered)

        templates = list(events)
        top = heapq.nsmallest(request.limit, templates, key=lambda t: (-usage(t), t))
        # Ordered by the exact open rate: two rates that round alike still rank apart.
        # nsmallest compares far fewer Fractions than a full sort of thousands.
        worst = heapq.nsmallest(request.limit,
                                (t for t in templates if usage(t) >= request.min_usage),
                                key=lambda t: (open_ratio(t), -usage(t), t))
        names = await latest_names(self.storage, request.tenant_id, "template", {*top, *worst},
                                     known)

        def row(t: str) -> TemplateRow:
            delivered, opened, clicked = (
                events[t].delivered, distinct(t, "opened"), distinct(t, "clicked"))
            return TemplateRow(template_id=t, name=names[t], usage_count=usage(t),
                               delivered=delivered, opened=opened, clicked=clicked,
                               open_rate=percent(opened, delivered),
                               click_rate=percent(clicked, delivered))

        return TemplatesData(time_range=TimeRange.of(request.window),
                             top_templates=[row(t) for t in top],
                             worst_performing=[row(t) for t in worst])
