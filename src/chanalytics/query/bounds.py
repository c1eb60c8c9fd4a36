"""Split a window into what the 15-minute rollups answer and what the raw table answers.

The rollups hold 15-minute UTC buckets, so they answer exactly the aligned interior
[ceil15(start), floor15(end)). The unaligned head [start, ceil15(start)) and tail
[floor15(end), end) — `timeRange` ends at *now*, RFC 3339 bounds fall anywhere — are
read from `analytics_events`, whose sort key makes such a slice a short range read.

Answers without a time series may go one level coarser: the whole UTC days inside the
interior, [day_start, day_end), from a daily rollup, and only the rest of the interior
from the 15-minute one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from chanalytics.query.timerange import TimeWindow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_QUARTER = timedelta(minutes=15)
_DAY = timedelta(days=1)
_MS = timedelta(milliseconds=1)


def _floor(instant: datetime, step: timedelta) -> datetime:
    return _EPOCH + (instant - _EPOCH) // step * step


def _ceil(instant: datetime, step: timedelta) -> datetime:
    floor = _floor(instant, step)
    return floor if floor == instant else floor + step


def range_params(tenant_id: str, window: TimeWindow) -> dict[str, Any]:
    """The bound parameters every query shares: tenant, zone and the two halves of the range.

    `start`/`end` are rounded up to whole milliseconds (events are stored with
    millisecond precision, so `t >= start` and `t < end` keep their meaning).
    `mid_start`/`mid_end` bound the rollup buckets; `[start, head_end)` and
    `[tail_start, end)` are the raw slices. A window inside one bucket is all raw.
    `[day_start, day_end)` (also as dates: `first_day`, `end_day`) are the whole UTC days
    of the interior; empty, at `mid_end`, when it holds none.
    """
    start = _ceil(window.start, _MS)
    end = _ceil(window.end, _MS)
    mid_start = _ceil(start, _QUARTER)
    mid_end = _floor(end, _QUARTER)
    if mid_start < mid_end:
        head_end, tail_start = mid_start, mid_end
    else:
        mid_start = mid_end = head_end = tail_start = end
    day_start, day_end = _ceil(mid_start, _DAY), _floor(mid_end, _DAY)
    if day_start >= day_end:
        day_start = day_end = mid_end
    return {
        "tenant": tenant_id,
        "tz": window.tz_name,
        "start": start,
        "end": end,
        "head_end": head_end,
        "tail_start": tail_start,
        "mid_start": mid_start,
        "mid_end": mid_end,
        "day_start": day_start,
        "day_end": day_end,
        "first_day": day_start.date(),
        "end_day": day_end.date(),
    }


def has_raw_edges(params: Mapping[str, Any]) -> bool:
    """Whether the window of `range_params` has an edge off the 15-minute grid (a raw slice)."""
    return bool(params["start"] < params["head_end"] or params["tail_start"] < params["end"])


def has_partial_days(params: Mapping[str, Any]) -> bool:
    """Whether the 15-minute interior of `range_params` reaches outside its whole UTC days."""
    return bool(params["mid_start"] < params["day_start"] or params["day_end"] < params["mid_end"])


class Cover(enum.Enum):
    """What a window's rollup reads cover (`covering`)."""

    EXACT = "exact"  # the window: raw slices at edges off the 15-minute grid
    BUCKETS = "buckets"  # the whole 15-minute buckets holding the window
    DAY_END = "day-end"  # those, and on to the end of the UTC day holding the window's end


def covering(params: Mapping[str, Any], cover: Cover) -> dict[str, Any]:
    """`range_params` widened as `cover` says, without raw slices. `spill_start` and
    `spill_end` bound what the widening adds: [spill_start, start) and [end, spill_end),
    of which [end, quarter_end) is the rest of the end's own bucket. When no event lies
    there, the widened window holds the same events.

    Widening the end to a UTC midnight (`DAY_END`) lets a window that ends at *now* read
    its last day from the daily rollups too: nothing has happened after *now*.
    """
    if cover is Cover.EXACT:
        return dict(params)
    start, end = params["start"], params["end"]
    first, quarter_end = _floor(start, _QUARTER), _ceil(end, _QUARTER)
    last = _ceil(end, _DAY) if cover is Cover.DAY_END else quarter_end
    day_start, day_end = _ceil(first, _DAY), _floor(last, _DAY)
    if day_start >= day_end:
        day_start = day_end = last
    return {**params, "mid_start": first, "mid_end": last, "head_end": start,
            "tail_start": end, "day_start": day_start, "day_end": day_end,
            "first_day": day_start.date(), "end_day": day_end.date(),
            "spill_start": first, "quarter_end": quarter_end, "spill_end": last}
