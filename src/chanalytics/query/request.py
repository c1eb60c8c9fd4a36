"""What a query service is asked, and the pieces every answer shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from chanalytics.query.bounds import Cover, covering, range_params
from chanalytics.query.timerange import Granularity, TimeWindow


class QueryRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A validated request: the tenant (from the credentials), the window and the filters."""

    tenant_id: str
    window: TimeWindow
    granularity: Granularity = Granularity.DAY
    channel: str | None = None
    entity_id: str | None = None
    limit: int = 10
    min_usage: int = 100
    # Widened past its edges when that adds no event (`edges.answer_settled`): whole
    # buckets answer for the window and no raw slice is read.
    cover: Cover = Cover.EXACT

    def params(self, **extra: Any) -> dict[str, Any]:
        """The bound parameters of the window and tenant, an empty string for absent filters."""
        window = range_params(self.tenant_id, self.window)
        return {
            **covering(window, self.cover),
            "channel": self.channel or "",
            **extra,
        }


class TimeRange(msgspec.Struct, frozen=True, kw_only=True):
    """`data.timeRange`: the half-open UTC range answered."""

    start: str
    end: str

    @classmethod
    def of(cls, window: TimeWindow) -> TimeRange:
        return cls(start=utc_text(window.start), end=utc_text(window.end))


def utc_text(instant: datetime) -> str:
    """RFC 3339 in UTC with `Z`; fractions only when present (milliseconds, or microseconds)."""
    instant = instant.astimezone(UTC)
    if instant.microsecond == 0:
        spec = "seconds"
    elif instant.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return instant.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def epoch(instant: datetime) -> int:
    """Whole epoch seconds of a bucket start, the key SQL groups local buckets by."""
    return int(instant.timestamp())
