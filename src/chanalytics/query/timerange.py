"""The time parameters of a request: `timeRange`, `startDate`/`endDate`, `timezone` and
`granularity`, read into a `TimeWindow` (`clock.py`) or a BadParameter naming the one at
fault."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, available_timezones

from chanalytics.query.clock import Granularity, TimeWindow, day_start, first_instant
from chanalytics.query.errors import BadParameter

MAX_RANGE_DAYS = 400
PRESET_DAYS: Mapping[str, int] = MappingProxyType({"1d": 1, "7d": 7, "30d": 30, "90d": 90})

# The span of ClickHouse `DateTime`; instants outside it cannot be stored or queried.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2106, 1, 1, tzinfo=UTC)


_TZ_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# RFC 3339 date-time; a space may stand for the offset's "+", which an unencoded
# query string turns into one.
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+\- ]\d{2}:\d{2})?",
    re.ASCII,
)
@functools.cache
def _zone_names() -> dict[str, str]:
    """Zone names by their lower case: the tz database never has two names that differ
    only in case, so `utc` and `europe/berlin` name `UTC` and `Europe/Berlin`.
    (`localtime` and `posixrules` are files of some systems, not IANA zones.)"""
    return {n.lower(): n for n in available_timezones() - {"localtime", "posixrules"}}


def parse_timezone(value: str | None) -> ZoneInfo:
    """The IANA zone named by `value` (UTC when absent); anything else is a BadParameter."""
    if value is None:
        return ZoneInfo("UTC")
    name = _zone_names().get(value.lower()) if len(value) <= 64 else None
    if name is not None and _TZ_NAME.fullmatch(name):
        try:
            return ZoneInfo(name)
        except Exception:  # ZoneInfo raises several types for odd keys; all mean "unknown"
            pass
    raise BadParameter("invalid_timezone", f"unknown timezone {value[:64]!r}", "timezone")


def parse_granularity(value: str | None, default: Granularity) -> Granularity:
    """The granularity named by `value`, or `default` when absent."""
    if value is None:
        return default
    try:
        return Granularity(value)
    except ValueError:
        allowed = "|".join(Granularity)
        raise BadParameter(
            "invalid_granularity", f"granularity must be one of {allowed}", "granularity"
        ) from None


def parse_window(
    *,
    time_range: str | None,
    start_date: str | None,
    end_date: str | None,
    timezone: str | None,
    default_range: str,
    now: datetime,
) -> TimeWindow:
    """The window a request asks for: startDate+endDate if given, else a timeRange preset."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = parse_timezone(timezone)
    if start_date is None and end_date is None:
        start, end = _preset(time_range if time_range is not None else default_range, tz, now)
        return TimeWindow(start=start, end=end, tz=tz, tz_name=tz.key)
    if start_date is None:
        raise BadParameter("invalid_time_range", "startDate is required with endDate", "startDate")
    if end_date is None:
        raise BadParameter("invalid_time_range", "endDate is required with startDate", "endDate")
    start = _parse_bound(start_date, tz, "startDate", is_end=False)
    end = _parse_bound(end_date, tz, "endDate", is_end=True)
    if start >= end:
        raise BadParameter("invalid_time_range", "endDate must be after startDate", "endDate")
    # Counted on the local clock so that a DST change does not shorten the limit.
    limit = first_instant(start.astimezone(tz) + timedelta(days=MAX_RANGE_DAYS), tz)
    if end > limit:
        raise BadParameter(
            "range_too_long", f"the range may span at most {MAX_RANGE_DAYS} days", "endDate"
        )
    return TimeWindow(start=start, end=end, tz=tz, tz_name=tz.key)


def today_window(now: datetime, timezone: str | None) -> TimeWindow:
    """`[local midnight, now)` in `timezone` (UTC when absent): "today" of `/realtime`."""
    return parse_window(time_range="1d", start_date=None, end_date=None, timezone=timezone,
                        default_range="1d", now=now)


def _preset(name: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    days = PRESET_DAYS.get(name)
    if days is None:
        allowed = "|".join(PRESET_DAYS)
        raise BadParameter("invalid_time_range", f"timeRange must be one of {allowed}", "timeRange")
    today = now.astimezone(tz).date()
    return day_start(today - timedelta(days=days - 1), tz), now.astimezone(UTC)


def _parse_bound(value: str, tz: ZoneInfo, field: str, *, is_end: bool) -> datetime:
    try:
        if _DATE.fullmatch(value):
            day = date.fromisoformat(value)
            instant = day_start(day + timedelta(days=1) if is_end else day, tz)
        else:
            instant = _parse_rfc3339(value, field)
    except (ValueError, OverflowError):
        raise BadParameter(
            "invalid_date", f"{field} must be YYYY-MM-DD or an RFC 3339 date-time", field
        ) from None
    if not EARLIEST <= instant <= LATEST:
        raise BadParameter("invalid_date", f"{field} must lie between 1970 and 2105", field)
    return instant


def _parse_rfc3339(value: str, field: str) -> datetime:
    match = _DATETIME.fullmatch(value)
    if match is None:
        raise ValueError(value)
    day, clock, fraction, offset = match.groups()
    if offset is None:
        raise BadParameter("invalid_date", f"{field} needs a UTC offset such as Z", field)
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif offset[0] == " ":
        offset = "+" + offset[1:]
    micros = f".{fraction[:6].ljust(6, '0')}" if fraction else ""
    return datetime.fromisoformat(f"{day}T{clock}{micros}{offset}").astimezone(UTC)


