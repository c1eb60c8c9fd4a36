"""Cohorts (`docs/api.md#cohorts`): `GET /cohorts`, contacts grouped by the local week of
their first `message_sent` ever, and how many of each cohort opened or clicked in each
week since.

Weeks are local Mondays of the request's zone, as dates: ClickHouse's `toMonday(instant,
zone)` reads an instant's local date with the zone's rules, so a clock change inside a
week moves no event into another week, and offsets are whole weeks between two Mondays
(dates, not 168-hour spans). The window selects the cohort weeks shown: every week from
the one holding `start` to the one holding the window's last instant, at most 26 (zeros
for a week in which no contact was first sent to). Each cohort's retention runs from its
own week (offset 0) to that last week; the events are not cut at `end`, a week counts
whole.

One statement, through `Engine.read`: per contact, the local Monday of its first send
(all sends before the last week's end: a contact first sent earlier belongs to an older
cohort, one first sent later to none shown), left-joined with the distinct local Mondays
of its opens and clicks from the first shown week on; each contact then adds one row
per engaged week at or after its cohort's, and one for the cohort itself (the week
1970-01-05, a Monday no shown week can be).

No read model, measured (`bench/results/funnel.md`): the first sends are a grouped
minimum over the tenant's sends, a range read of the raw table's key, and 26 weeks of the
10M bench's largest tenant (200,000 sends) cost about 0.25 s of CPU. That grows with the
tenant's sends: about 2.5 s at the issue's 100M, over its 1 s target. A per-contact
first-send table (a `min` per tenant and contact, exact under redelivery), tried on the
same data, saved a third of that (the join with the weeks' opens and clicks stays: local
weeks of every zone cannot be kept ahead), so it is not built yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from chanalytics.query.clock import Granularity, TimeWindow, bucket_bounds
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.sql import INSTANT, Params, Select, literal, literals

MAX_WEEKS = 26
_COHORT_ROW = date(1970, 1, 5)  # a Monday long before any shown week: the cohort's size
_WEEK = timedelta(days=7)


class Retention(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    week_offset: int
    engaged_contacts: int
    rate: float


class Cohort(msgspec.Struct, frozen=True, kw_only=True):
    week: str
    contacts: int
    retention: list[Retention]


class CohortsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    time_range: TimeRange
    cohorts: list[Cohort]
    # With `compare`: the previous window's cohorts (no summary, so `change` is empty).
    comparison: CohortsData | None = None
    change: dict[str, float | None] | None = None


def cohort_weeks(window: TimeWindow) -> tuple[list[date], list[datetime]]:
    """The local Mondays of the weeks shown, and the instants where each begins followed
    by the last one's end."""
    bounds = bucket_bounds(window, Granularity.WEEK)
    return [b.astimezone(window.tz).date() for b in bounds[:-1]], bounds


def check_weeks(window: TimeWindow) -> None:
    """A window of more than 26 local weeks is a 400 naming `endDate` (a preset range
    never holds that many)."""
    if len(cohort_weeks(window)[0]) > MAX_WEEKS:
        raise BadParameter("range_too_long",
                           f"cohorts span at most {MAX_WEEKS} weeks; choose a later startDate "
                           "or an earlier endDate", "endDate")


def cohorts_statement(request: QueryRequest) -> tuple[str, dict[str, Any]]:
    """Rows of (cohort Monday, week Monday, contacts); the week `_COHORT_ROW` holds the
    cohort's size."""
    weeks, bounds = cohort_weeks(request.window)
    params = Params()
    tenant = "tenant_id = " + params.bind(request.tenant_id, "String")
    zone = params.bind(request.window.tz_name, "String")
    last_end = params.bind(bounds[-1], INSTANT)
    firsts = Select(
        columns=["contact_id", f"toMonday(min(occurred_at), {zone}) AS cohort"],
        source="analytics_events",
        where=[tenant, f"event_type = {literal('message_sent')}", "contact_id != ''",
               f"occurred_at < {last_end}"],
        group_by="contact_id", having=f"cohort >= {params.bind(weeks[0], 'Date')}")
    engaged = Select(
        columns=["contact_id", f"groupUniqArray(toMonday(occurred_at, {zone})) AS weeks"],
        source="analytics_events",
        where=[tenant, f"event_type IN {literals(('message_opened', 'message_clicked'))}",
               "contact_id != ''", f"occurred_at >= {params.bind(bounds[0], INSTANT)}",
               f"occurred_at < {last_end}"],
        group_by="contact_id")
    marker = params.bind(_COHORT_ROW, "Date")
    counted = Select(
        columns=["cohort", f"arrayJoin(arrayPushFront(arrayFilter(w -> w >= cohort, weeks), "
                           f"{marker})) AS week", "count()"],
        source=f"({firsts.sql()}) AS firsts LEFT JOIN ({engaged.sql()}) AS engaged "
               "USING (contact_id)",
        group_by="cohort, week")
    return counted.sql(), params.values


async def cohorts(engine: Engine, request: QueryRequest) -> CohortsData:
    """Each shown week's cohort, oldest first, with its retention up to the last week."""
    weeks, _ = cohort_weeks(request.window)
    sql, values = cohorts_statement(request)
    rows = await engine.read(request.tenant_id, sql, values)
    found = {(cohort, week): int(n) for cohort, week, n in rows}
    last = weeks[-1]
    shown = []
    for monday in weeks:
        contacts = found.get((monday, _COHORT_ROW), 0)
        retention = []
        for offset in range((last - monday).days // 7 + 1):
            engaged = found.get((monday, monday + offset * _WEEK), 0)
            retention.append(Retention(week_offset=offset, engaged_contacts=engaged,
                                       **metric_values({"engaged": engaged,
                                                        "contacts": contacts},
                                                       rate="retentionRate")))
        shown.append(Cohort(week=monday.isoformat(), contacts=contacts, retention=retention))
    return CohortsData(time_range=TimeRange.of(request.window), cohorts=shown)
