"""`GET /traffic`: messages sent per local hour of day, per weekday, and over time."""

from __future__ import annotations

from datetime import datetime

import msgspec

from chanalytics.query.buckets import local_buckets
from chanalytics.query.request import QueryRequest, TimeRange, epoch
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# grouping(hour, weekday, local_bucket): 1 marks a column aggregated away.
_BY_HOUR, _BY_WEEKDAY, _BY_BUCKET = 0b011, 0b101, 0b110


class HourCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    hour: int
    message_count: int


class WeekdayCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    day: str
    message_count: int


class TrafficPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    message_count: int


class TrafficData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    peak_hours: list[HourCount]
    by_day_of_week: list[WeekdayCount]
    time_series: list[TrafficPoint]


class TrafficQuery:
    """Answers `traffic` from the message rollup (plus raw edge slices); one query."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> TrafficData:
        local = local_buckets(request.window, request.granularity)
        params = request.params(**local.params())
        rows = await self.storage.query(
            statement("traffic", local, params), params)
        hours = [0] * 24
        weekdays = [0] * 7
        buckets: dict[int, int] = {}
        for grouping_set, hour, weekday, bucket, messages in rows:
            if grouping_set == _BY_HOUR:
                hours[hour] = messages
            elif grouping_set == _BY_WEEKDAY:
                weekdays[weekday - 1] = messages
            elif grouping_set == _BY_BUCKET:
                buckets[bucket] = messages
        return TrafficData(
            time_range=TimeRange.of(request.window),
            peak_hours=[HourCount(hour=h, message_count=n) for h, n in enumerate(hours)],
            by_day_of_week=[WeekdayCount(day=d, message_count=n)
                            for d, n in zip(WEEKDAYS, weekdays, strict=True)],
            time_series=[TrafficPoint(timestamp=s, message_count=buckets.get(epoch(s), 0))
                         for s in local.starts],
        )
