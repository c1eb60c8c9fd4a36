"""What a query service is asked, and the pieces every answer shares."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from chanalytics.localtime import utc_text
from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.model import Filter, Grouping, Query


class QueryRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A validated request: the tenant (from the credentials), the window and the filters."""

    tenant_id: str
    window: TimeWindow
    granularity: Granularity = Granularity.DAY
    channel: str | None = None
    provider: str | None = None
    entity_id: str | None = None
    entity_ids: tuple[str, ...] = ()  # the ids a comparison lists, in the order asked
    limit: int = 10
    min_usage: int = 100

    def query(self, measures: Sequence[str], *groupings: Grouping,
              filters: Sequence[Filter] = (), granularity: Granularity | None = None) -> Query:
        """An engine query over this request's tenant and window."""
        return Query(tenant_id=self.tenant_id, window=self.window, measures=tuple(measures),
                     groupings=groupings or ((),), filters=tuple(filters),
                     granularity=granularity or self.granularity)

    def channel_filter(self) -> tuple[Filter, ...]:
        """`channel` as an engine filter: none, or messages of that channel."""
        return (Filter("channel", "is", (self.channel,)),) if self.channel else ()

    def delivery_filters(self) -> tuple[Filter, ...]:
        """`channel` and `provider`: messages of that channel and provider."""
        only = (Filter("provider", "is", (self.provider,)),) if self.provider else ()
        return self.channel_filter() + only

    def entity_filter(self, dimension: str) -> tuple[Filter, ...]:
        """The endpoint's id parameter (`campaignId`, …) as a filter on `dimension`."""
        return (Filter(dimension, "is", (self.entity_id,)),) if self.entity_id else ()


class TimeRange(msgspec.Struct, frozen=True, kw_only=True):
    """`data.timeRange`: the half-open UTC range answered."""

    start: str
    end: str

    @classmethod
    def of(cls, window: TimeWindow) -> TimeRange:
        return cls(start=utc_text(window.start), end=utc_text(window.end))
