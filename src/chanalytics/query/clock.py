"""Local clocks: where the buckets of a window begin in its zone.

Every instant here is a tz-aware `datetime` in UTC; local clocks only decide where
buckets begin. An hour bucket begins wherever the local clock shows minute 0 (so a
fall-back that shows 02:00 twice gives two) or jumps into another hour (02:00 -> 02:30
on Lord Howe, 03:45 -> 02:45 on Chatham). Day, week and month buckets begin at the first
instant of the local day, Monday or 1st: midnight, or, when a DST change skips midnight,
the first instant after it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import msgspec

# Imported before any zone is built: it pins the zone rules to chDB's tzdata release.
from chanalytics.localtime import day_start as day_start
from chanalytics.localtime import first_instant as first_instant
from chanalytics.localtime import offset_change as _offset_change
from chanalytics.query.errors import BadParameter

MAX_BUCKETS = 5000


class Granularity(enum.StrEnum):
    """Width of a time-series bucket."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class TimeWindow(msgspec.Struct, frozen=True, kw_only=True):
    """The half-open UTC range [start, end) of a query and the zone it is read in."""

    start: datetime
    end: datetime
    tz: ZoneInfo
    tz_name: str


_TICK = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)
# Longest a bucket can last (a DST change lengthens it); bounds the count from below.
_LONGEST_BUCKET: Mapping[Granularity, timedelta] = MappingProxyType(
    {
        Granularity.HOUR: timedelta(hours=3),
        Granularity.DAY: timedelta(hours=27),
        Granularity.WEEK: timedelta(days=7, hours=3),
        Granularity.MONTH: timedelta(days=31, hours=3),
    }
)


def local_date(instant: datetime, tz: ZoneInfo) -> str:
    """The local calendar date (YYYY-MM-DD) of an instant."""
    return instant.astimezone(tz).date().isoformat()


def bucket_of(instant: datetime, tz: ZoneInfo, granularity: Granularity) -> datetime:
    """The UTC start of the local bucket holding `instant`."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    if granularity == Granularity.HOUR:
        return _hour_start(instant.astimezone(UTC), tz)
    day = instant.astimezone(tz).date()
    match granularity:
        case Granularity.WEEK:
            day -= timedelta(days=day.weekday())
        case Granularity.MONTH:
            day = day.replace(day=1)
    return day_start(day, tz)


def bucket_starts(window: TimeWindow, granularity: Granularity) -> list[datetime]:
    """Starts of the buckets from the one holding start to the one holding end - 1µs."""
    return bucket_bounds(window, granularity)[:-1]


def bucket_bounds(window: TimeWindow, granularity: Granularity) -> list[datetime]:
    """`bucket_starts`, followed by the end of the last bucket (the next one's start)."""
    if window.end - window.start > _LONGEST_BUCKET[granularity] * MAX_BUCKETS:
        raise _too_many_buckets()
    last = window.end - _TICK
    bounds: list[datetime] = []
    start = bucket_of(window.start, window.tz, granularity)
    # The UTC offset at `start`, carried along an hour series: each hour then costs one
    # local-time conversion (a 90-day hour series has 2,160 buckets).
    offset = start.astimezone(window.tz).utcoffset()
    while start <= last:
        if len(bounds) == MAX_BUCKETS:
            raise _too_many_buckets()
        bounds.append(start)
        if granularity == Granularity.HOUR:
            start, offset = _next_hour_start(start, offset, window.tz)
        else:
            start = _next_start(start, window.tz, granularity)
    bounds.append(start)
    return bounds


def _too_many_buckets() -> BadParameter:
    return BadParameter(
        "too_many_buckets",
        f"the range holds more than {MAX_BUCKETS} buckets; choose a coarser granularity",
        "granularity",
    )


def _next_start(start: datetime, tz: ZoneInfo, granularity: Granularity) -> datetime:
    """The next bucket's start at a granularity of days, weeks or months."""
    day = start.astimezone(tz).date()
    while True:  # loops again only where a zone skipped a whole day
        match granularity:
            case Granularity.DAY:
                day += timedelta(days=1)
            case Granularity.WEEK:
                day += timedelta(days=7)
            case _:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        following = day_start(day, tz)
        if following > start:
            return following


def _next_hour_start(
    start: datetime, offset: timedelta | None, tz: ZoneInfo
) -> tuple[datetime, timedelta | None]:
    """The next hour bucket's start and its UTC offset, from a start and its offset."""
    following = start + _HOUR
    local = following.astimezone(tz)
    # The usual hour: an hour later the clock shows minute 0 under the same offset.
    if (local.minute == 0 and local.second == 0 and local.microsecond == 0
            and local.utcoffset() == offset):
        return following, offset
    following = _changed_hour_end(start, tz)
    return following, following.astimezone(tz).utcoffset()


def _changed_hour_end(start: datetime, tz: ZoneInfo) -> datetime:
    """The end of an hour bucket that a DST change made longer or shorter than an hour:
    bisected over whole seconds, on which every tz transition and offset falls."""
    inside, outside = 0, 3600
    while bucket_of(start + timedelta(seconds=outside), tz, Granularity.HOUR) == start:
        inside, outside = outside, outside + 3600
    while outside - inside > 1:
        middle = (inside + outside) // 2
        if bucket_of(start + timedelta(seconds=middle), tz, Granularity.HOUR) == start:
            inside = middle
        else:
            outside = middle
    return start + timedelta(seconds=outside)


def _hour_start(instant: datetime, tz: ZoneInfo) -> datetime:
    """The last instant up to `instant` where the clock shows minute 0 or the hour changes."""
    while True:
        local = instant.astimezone(tz)
        minute_zero = instant - timedelta(
            minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        if minute_zero.astimezone(tz).utcoffset() == local.utcoffset():
            return minute_zero
        # The clock changed since minute 0 of this reading. Where the change moved it
        # into another hour (02:00 -> 02:30, or back from 03:45 to 02:45) the bucket
        # starts at the change; otherwise (back from 02:00 to 01:30) it started before.
        change = _offset_change(minute_zero, instant, tz)
        if _hour_label(change - _TICK, tz) != _hour_label(change, tz):
            return change
        instant = change - _TICK


def _hour_label(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(minute=0, second=0, microsecond=0, tzinfo=None)
