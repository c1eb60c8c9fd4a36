"""`compare=previous_period|previous_year`: the same answer for an earlier window, and the
change of every summary number, or of a report's totals (`docs/api.md`, common rules)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from chanalytics.query.clock import TimeWindow, day_start, first_instant
from chanalytics.query.errors import BadParameter
from chanalytics.query.metrics import entry, round_decimal


class Compare(enum.StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    PREVIOUS_YEAR = "previous_year"


def parse_compare(value: str | None) -> Compare | None:
    if value is None:
        return None
    try:
        return Compare(value)
    except ValueError:
        raise BadParameter("invalid_compare", "compare must be previous_period or previous_year",
                           "compare") from None


def previous_window(window: TimeWindow, compare: Compare) -> TimeWindow:
    """The window of the same length on the local clock ending at `start`, or the same
    local dates and times one year earlier (29 February → 28 February)."""
    if compare is Compare.PREVIOUS_PERIOD:
        return msgspec.structs.replace(window, start=_period_before(window), end=window.start)
    return msgspec.structs.replace(window, start=_year_before(window.start, window),
                                   end=_year_before(window.end, window))


def _period_before(window: TimeWindow) -> datetime:
    """Where the previous period starts: as far before `start` on the local clock as
    `end` is after it. A week of local dates that spans a clock change (167 or 169
    hours) compares with the seven whole local days before it (168 hours, say): the
    length is the wall-clock difference, not the elapsed time.

    Where the local clock cannot measure the window — it reads no later at `end` than at
    `start` (a window inside a repeated hour), or the wall-clock start falls in a gap the
    clock jumps over right before `start` — the elapsed time is the length."""
    start = _clock(window.start, window.tz)
    length = _clock(window.end, window.tz) - start
    if length > timedelta(0):
        before = first_instant((start - length).replace(tzinfo=window.tz), window.tz)
        if before < window.start:
            return before
    return window.start - (window.end - window.start)


def _clock(instant: datetime, tz: ZoneInfo) -> datetime:
    """What the local clock shows at `instant` (naive), where the first instant of a day
    reads as its midnight even where the clock skipped midnight (Santiago's first day of
    summer time begins at 01:00): whole local days then measure as whole days."""
    local = instant.astimezone(tz)
    if day_start(local.date(), tz) == instant:
        return datetime.combine(local.date(), time())
    return local.replace(tzinfo=None)


def _year_before(instant: datetime, window: TimeWindow) -> datetime:
    local = instant.astimezone(window.tz)
    day = local.date()
    try:
        earlier = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        earlier = date(day.year - 1, 2, 28)
    wall = datetime.combine(earlier, local.timetz().replace(tzinfo=None), tzinfo=window.tz)
    return first_instant(wall, window.tz)


Data = TypeVar("Data", bound=msgspec.Struct)


def compared(current: Data, previous: Data) -> Data:
    """`current` with `comparison` (the previous answer) and `change` (per summary number:
    the relative change in percent, or the difference in points for a rate). A campaign's
    answer has its `overview` where the others have a `summary`."""
    part = next((p for p in ("summary", "overview") if hasattr(current, p)), None)
    change: dict[str, float | None] = {}
    if part is not None:
        before = msgspec.to_builtins(getattr(previous, part))
        change = changes(msgspec.to_builtins(getattr(current, part)), before)
    return msgspec.structs.replace(current, comparison=previous, change=change)


def changes(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, float | None]:
    """The change of every number of `now` (a summary, or a report's totals) from
    `before`: relative, in percent, or for a rate the difference in points — the rule of
    the field's catalogue entry; a field without one (a count such as `totalCampaigns`)
    changes relatively."""
    return {key: _change(key, value, before[key]) for key, value in now.items()
            if value is None or (isinstance(value, int | float)
                                 and not isinstance(value, bool))}


def _change(key: str, now: Any, before: Any) -> float | None:
    """null when either number is null (an average of nothing) or, for a relative change,
    the previous one is 0."""
    if now is None or before is None:
        return None
    metric = entry(key)
    if metric is not None and metric.change == "points":
        return float((Decimal(repr(now)) - Decimal(repr(before))).quantize(Decimal("0.01")))
    if not before:
        return None
    old = Fraction(Decimal(repr(before)))
    return round_decimal((Fraction(Decimal(repr(now))) - old) / old * 100, 2)
