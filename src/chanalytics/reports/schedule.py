"""When a report runs: `{cron, timezone}` or `{every: daily|weekly|monthly, at, timezone}`.

Both become one APScheduler `CronTrigger` in the report's zone, so daylight-saving
changes are handled the way the chosen stack handles them. A cron expression has the five
usual fields, or six with a leading seconds field (`*/10 * * * * *`: every ten seconds,
which tests use). `weekly` is Mondays and `monthly` the 1st, at `at` local time.

A schedule's ticks are instants; the scheduler asks for the latest tick in
`(after, now]` (one run however many were missed) and the next one after an instant.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from apscheduler.triggers.cron import CronTrigger

from chanalytics.query.errors import BadParameter

_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# The latest tick before `now` is found by walking forward from `after`; a schedule
# missed for longer than this is treated as missed since this long ago.
LOOKBACK = timedelta(days=366)
MAX_STEPS = 10_000


class ScheduleBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
                   omit_defaults=True):
    """`{cron, timezone}` or `{every, at, timezone}`."""

    cron: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    every: Literal["daily", "weekly", "monthly"] | None = None
    at: str | None = None
    timezone: str = "UTC"


class Schedule:
    """A checked schedule and its trigger."""

    def __init__(self, body: ScheduleBody) -> None:
        self.body = body
        self.trigger = trigger(body)

    def next_after(self, instant: datetime) -> datetime:
        """The first tick strictly after `instant`."""
        fire: datetime | None = self.trigger.get_next_fire_time(
            None, instant + timedelta(microseconds=1))
        assert fire is not None  # a cron trigger without an end date always has one
        return fire

    def latest_due(self, after: datetime, now: datetime) -> datetime | None:
        """The latest tick in `(after, now]`, or None: the one run owed at `now`."""
        tick = self.next_after(max(after, now - LOOKBACK))
        if tick > now:
            return None
        for _ in range(MAX_STEPS):
            following = self.next_after(tick)
            if following > now:
                return tick
            tick = following
        # A seconds-field schedule missed for long: jump close to `now` and walk again.
        return self.latest_due(now - timedelta(hours=1), now)


def _bad(message: str, field: str) -> BadParameter:
    return BadParameter("invalid_schedule", message, f"schedule.{field}")


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC = re.compile(r"(\d)(?:-(\d))?(?:/(\d+))?")


def _cron_weekdays(field: str) -> str:
    """Cron's day-of-week numbers (0 or 7 Sunday, 1 Monday …) as names: APScheduler counts
    from Monday = 0, so a number would shift every weekly cron by a day."""
    parts = []
    for part in field.split(","):
        found = _NUMERIC.fullmatch(part)
        if found is None:  # `*`, `*/2`, names: the same in both
            parts.append(part)
            continue
        first = int(found.group(1))
        last = int(found.group(2)) if found.group(2) else first
        step = int(found.group(3) or 1)
        if first > 7 or last > 7 or first > last or step < 1:
            raise _bad(f"invalid day of week {part[:20]!r}", "cron")
        parts.extend(_WEEKDAYS[day % 7] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(parts))


def trigger(body: ScheduleBody) -> CronTrigger:
    """The body's trigger; BadParameter naming the schedule's field at fault."""
    try:
        zone = ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"unknown timezone {body.timezone[:80]!r}", "timezone") from None
    if (body.cron is None) == (body.every is None):
        raise _bad("give either `cron` or `every` (with `at`)", "cron")
    if body.cron is not None:
        if body.at is not None:
            raise _bad("`at` goes with `every`, not with `cron`", "at")
        fields = body.cron.split()
        names = ["minute", "hour", "day", "month", "day_of_week"]
        if len(fields) == 6:
            names = ["second", *names]
        elif len(fields) != 5:
            raise _bad("a cron expression has 5 fields (or 6, seconds first)", "cron")
        fields[-1] = _cron_weekdays(fields[-1])
        try:
            return CronTrigger(timezone=zone, **dict(zip(names, fields, strict=True)))
        except ValueError as exc:
            raise _bad(f"invalid cron expression: {exc}", "cron") from None
    found = _AT.fullmatch(body.at or "")
    if found is None:
        raise _bad('`at` is "HH:MM" (00:00 to 23:59)', "at")
    hour, minute = int(found.group(1)), int(found.group(2))
    extra = {"weekly": {"day_of_week": "mon"}, "monthly": {"day": "1"}}.get(body.every or "", {})
    return CronTrigger(hour=hour, minute=minute, second=0, timezone=zone, **extra)
