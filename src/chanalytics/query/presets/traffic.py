"""`GET /traffic`: messages sent per local hour of day, per weekday, and over time."""

from __future__ import annotations

from datetime import datetime

import msgspec

from chanalytics.query.dimensions import WEEKDAYS
from chanalytics.query.engine import Engine
from chanalytics.query.request import QueryRequest, TimeRange


class HourCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    hour: int
    message_count: int


class WeekdayCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    day: str
    message_count: int


class TrafficPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    message_count: int


class TrafficData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    time_range: TimeRange
    peak_hours: list[HourCount]
    by_day_of_week: list[WeekdayCount]
    time_series: list[TrafficPoint]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: TrafficData | None = None
    change: dict[str, float | None] | None = None


async def traffic(engine: Engine, request: QueryRequest) -> TrafficData:
    """Messages sent per local hour of day (all 24), weekday (all 7) and bucket."""
    result = await engine.run(request.query(
        ("sent",), ("hourOfDay",), ("dayOfWeek",), ("time",), filters=request.channel_filter()))
    hours, days = result.by_one("hourOfDay"), result.by_one("dayOfWeek")
    return TrafficData(
        time_range=TimeRange.of(request.window),
        peak_hours=[HourCount(hour=h, message_count=hours[h]["sent"] if h in hours else 0)
                    for h in range(24)],
        by_day_of_week=[WeekdayCount(day=name, message_count=days[d]["sent"] if d in days else 0)
                        for d, name in enumerate(WEEKDAYS, start=1)],
        time_series=[TrafficPoint(timestamp=start, message_count=v["sent"])
                     for start, v in result.series()],
    )
