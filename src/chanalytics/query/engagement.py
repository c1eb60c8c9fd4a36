"""Engagement scores (`docs/api.md#engagement`): per contact, and every contact of a tenant
ranked, from the `contact_hourly` read model (`clickhouse/README.md`).

The score is defined here, once: points per event (`POINTS`; each event counts, so three
opens of one message are three), times `max(0.1, 1 - d / 90)` for an event `d` UTC dates
before asOf's, over the 90 dates ending with asOf's, rounded half up. It is a sum per
contact and date, which the catalogue's formulas over measures cannot state, and ranking
every contact of a tenant needs it in SQL; in integers it is
`(sum of points * max(9, 90 - d) + 45) div 90`, exact.

An answer is the state at asOf: every event *stored* before it (the read model keeps each
insert's `stored_at`), whatever its timestamp (`engagement_params.py` says which asOf).
A cursor carries its first page's asOf, so every page ranks the same snapshot whenever
it is asked for. Answers go through the engine's answer cache: with asOf in the key, an
answer is a function of the key and the tenant's stored data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import TypeVar

import msgspec
import structlog

from chanalytics.localtime import as_utc, utc_text
from chanalytics.query.cache import one_request
from chanalytics.query.engagement_params import (
    LEVELS,
    ContactEngagementQuery,
    EngagementQuery,
    Level,
    LevelCounts,
    cursor_text,
    level_of,
    level_range,
    needs_clock,
    resolve_as_of,
)
from chanalytics.query.engine import Engine
from chanalytics.query.sql import INSTANT, Params, Select, all_of

log = structlog.get_logger(__name__)

T = TypeVar("T")
SOURCE = "contact_hourly"
DAYS = 90
FLOOR_DAYS = 9  # max(0.1, 1 - d/90) = max(9, 90 - d) / 90
# (the read model's column, points per event, the breakdown's name)
POINTS: tuple[tuple[str, int, str], ...] = (
    ("delivered", 1, "delivered"), ("opened", 5, "opened"), ("clicked", 10, "clicked"),
    ("replied", 15, "replied"), ("goals_reached", 50, "converted"))


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    """Events of each scored type inside the 90 dates."""

    delivered: int
    opened: int
    clicked: int
    replied: int
    converted: int


class ContactEngagement(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    contact_id: str
    score: int
    level: Level
    last_engagement_at: str | None
    breakdown: Breakdown
    as_of: str


class ContactScore(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    contact_id: str
    score: int
    level: Level
    last_engagement_at: str | None


class EngagementData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    levels: LevelCounts
    contacts: list[ContactScore]
    next_cursor: str | None
    as_of: str


def _score_parts(params: Params, as_of: datetime) -> tuple[str, str]:
    """(the score of a contact's rows, the condition "inside the 90 dates") as SQL."""
    back = f"dateDiff('day', toDate(hour, 'UTC'), toDate({params.bind(as_of, INSTANT)}, 'UTC'))"
    inside = f"{back} BETWEEN 0 AND {DAYS - 1}"
    points = " + ".join(f"{column} * {value}" for column, value, _ in POINTS)
    weighted = f"({points}) * greatest({FLOOR_DAYS}, {DAYS} - {back})"
    return f"intDiv(sumIf({weighted}, {inside}) + {DAYS // 2}, {DAYS})", inside


def _stored_before(params: Params, tenant_id: str, as_of: datetime) -> list[str]:
    return ["tenant_id = " + params.bind(tenant_id, "String"),
            "stored_at < " + params.bind(as_of, INSTANT)]


def _in_level(params: Params, level: Level) -> str:
    low, high = level_range(level)
    return all_of([f"score >= {params.bind(low, 'Int64')}",
                   "" if high is None else f"score <= {params.bind(high, 'Int64')}"])


async def _contact(engine: Engine, query: ContactEngagementQuery,
                   as_of: datetime) -> ContactEngagement:
    params = Params()
    score, inside = _score_parts(params, as_of)
    where = [*_stored_before(params, query.tenant_id, as_of),
             "contact_id = " + params.bind(query.contact_id, "String")]
    select = Select(columns=["count()", score, "max(last_event_at)",
                             *(f"sumIf({column}, {inside})" for column, _, _ in POINTS)],
                    source=engine.source(SOURCE), where=where)
    rows = await engine.read(query.tenant_id, select.sql(), params.values, keep=False)
    found, points, last, *counts = rows[0]
    if not found:  # unknown: no row at all
        points, last, counts = 0, None, [0] * len(POINTS)
    return ContactEngagement(
        contact_id=query.contact_id, score=int(points), level=level_of(int(points)),
        last_engagement_at=None if last is None else utc_text(as_utc(last)),
        breakdown=Breakdown(**{name: int(n) for (_, _, name), n
                               in zip(POINTS, counts, strict=True)}),
        as_of=utc_text(as_of))


async def _ranking(engine: Engine, query: EngagementQuery, as_of: datetime) -> EngagementData:
    params = Params()
    score, _ = _score_parts(params, as_of)
    scores = Select(columns=["contact_id", f"{score} AS score", "max(last_event_at) AS last"],
                    source=engine.source(SOURCE),
                    where=_stored_before(params, query.tenant_id, as_of), group_by="contact_id")
    where = [] if query.level is None else [_in_level(params, query.level)]
    if query.after is not None:
        s, c = params.bind(query.after[0], "Int64"), params.bind(query.after[1], "String")
        where.append(f"score < {s} OR (score = {s} AND contact_id > {c})")
    page = Select(columns=["contact_id", "score", "last"], source=f"({scores.sql()})",
                  where=where, order_by="score DESC, contact_id",
                  limit=params.bind(query.limit + 1, "UInt32"))
    counts = Select(columns=[f"countIf({_in_level(params, name)})" for name, _ in LEVELS],
                    source=f"({scores.sql()})")
    # Kept as a whole answer (`_kept`), not statement by statement.
    rows, levels = await asyncio.gather(*(
        engine.read(query.tenant_id, select.sql(), params.values, keep=False)
        for select in (page, counts)))
    per_level = levels[0]
    shown = rows[: query.limit]
    following = None
    if len(rows) > query.limit:
        following = cursor_text(as_of, int(shown[-1][1]), shown[-1][0], query.digest)
    return EngagementData(
        levels=LevelCounts(**{name: int(n) for (name, _), n
                              in zip(LEVELS, per_level, strict=True)}),
        contacts=[ContactScore(contact_id=c, score=int(s), level=level_of(int(s)),
                               last_engagement_at=utc_text(as_utc(last)))
                  for c, s, last in shown],
        next_cursor=following, as_of=utc_text(as_of))


async def contact_engagement(engine: Engine, query: ContactEngagementQuery,
                             ) -> ContactEngagement:
    """One contact's score at asOf (an unknown contact: 0, inactive, no last engagement)."""
    with one_request():
        as_of = await _as_of(engine, query.tenant_id, query.as_of, fixed=False)
        return await _kept(engine, query.tenant_id, "contact", as_of, (query.contact_id,),
                           lambda: _contact(engine, query, as_of), 1)


async def engagement(engine: Engine, query: EngagementQuery) -> EngagementData:
    """A page of the tenant's contacts ranked by score at asOf, and the known contacts
    counted per level."""
    with one_request():
        as_of = await _as_of(engine, query.tenant_id, query.as_of,
                             fixed=query.after is not None)
        return await _kept(engine, query.tenant_id, "tenant", as_of,
                           (query.level, query.limit, query.after),
                           lambda: _ranking(engine, query, as_of), query.limit)


async def _as_of(engine: Engine, tenant_id: str, asked: datetime | None, *,
                 fixed: bool) -> datetime:
    """The answer's instant, reading the storage clock (what `stored_at` is written by, not
    the API's clock) unless a cursor fixes it."""
    now = None
    if needs_clock(asked, fixed=fixed):
        rows = await engine.read(
            tenant_id, Select(columns=["now64(3, 'UTC')"], source="system.one").sql(),
            keep=False)
        now = as_utc(rows[0][0])
    return resolve_as_of(asked, now, fixed=fixed)


async def _kept(engine: Engine, tenant_id: str, kind: str, as_of: datetime,
                key: tuple[Hashable, ...], compute: Callable[[], Awaitable[T]],
                rows: int) -> T:
    """`compute()`'s answer through the engine's answer cache, logged as a query."""
    started = time.perf_counter()
    if engine.cache is None:
        answer = await compute()
    else:
        answer = await engine.cache.read(tenant_id, (f"engagement.{kind}", as_of, *key),
                                         compute, rows=lambda _: rows)
    log.info("query.executed", tenant_id=tenant_id, query_type=f"engagement.{kind}",
             as_of=utc_text(as_of), duration_ms=round((time.perf_counter() - started) * 1000, 2))
    return answer

