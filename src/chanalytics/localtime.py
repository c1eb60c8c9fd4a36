"""Local wall clocks as UTC instants, read from the zone rules ClickHouse uses.

Below both the engine (`query/`) and the budgets' read model: where a local day or month
begins is the same question for a bucket, a time range and a budget's month.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# Python and ClickHouse must agree on every zone's rules, or local buckets computed here
# (zero-fill) and in SQL (grouping) drift apart. Read zones only from the `tzdata`
# package, pinned to the release chDB is built with — never from the machine's own
# /usr/share/zoneinfo, which differs between hosts. tests/integration/test_bucket_sql.py
# checks the two releases are the same.
zoneinfo.reset_tzpath(to=[])
ZoneInfo.clear_cache()  # zones created before this import would keep the host's rules


def day_start(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 picks the first of two midnights when a fall-back repeats midnight.
    return first_instant(datetime(day.year, day.month, day.day, tzinfo=tz), tz)


def first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant the local clock shows `wall`, or the first after it in a DST gap."""
    instant = wall.astimezone(UTC)
    naive = wall.replace(tzinfo=None)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # `wall` lies in a gap; its two readings straddle the transition that made it.
    readings = (wall.replace(fold=0).astimezone(UTC), wall.replace(fold=1).astimezone(UTC))
    return offset_change(min(readings), max(readings), tz)


def offset_change(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant in (before, after] with the UTC offset `after` has."""
    offset = after.astimezone(tz).utcoffset()
    inside, outside = 0, int((after - before).total_seconds())
    while outside - inside > 1:  # tz transitions fall on whole seconds
        middle = (inside + outside) // 2
        if (before + timedelta(seconds=middle)).astimezone(tz).utcoffset() == offset:
            outside = middle
        else:
            inside = middle
    return before + timedelta(seconds=outside)


def as_utc(value: datetime) -> datetime:
    """An instant as ClickHouse returned it (naive for a `DateTime64(…, 'UTC')` column over
    chDB, aware over HTTP) as an aware UTC datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_text(instant: datetime) -> str:
    """RFC 3339 in UTC with `Z`; fractions only when present (milliseconds, or microseconds).
    Written for speed: the writer formats every stored event with it (`live/stored.py`)."""
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    micro = instant.microsecond
    spec = "seconds" if micro == 0 else "milliseconds" if micro % 1000 == 0 else "microseconds"
    return instant.isoformat(timespec=spec)[:-6] + "Z"  # "+00:00" → "Z"
