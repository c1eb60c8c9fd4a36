"""Who must not be messaged again: `GET /suppressions` and the deliverability count.

A contact is suppressed on a channel from its earliest hard bounce, complaint or
unsubscribe there (`suppression_events`, one row per such event, kept by a view; a
duplicate row changes no minimum). An item is that earliest event (ties by event id),
computed per (contact, channel) at read time.

Pages are keyset pages in the contract's order (`since` desc, contact, channel) over the
state as of the first page: its cursor carries that instant (the server's clock) and every
later page counts only events stored by then. So an item whose `since` moves earlier
because an older event arrives late, or a contact suppressed meanwhile, cannot appear twice
or shift the pages; they show on the next first page. (An insert still in flight while
the first page is read — under a second — can still surface on a later page.)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from chanalytics.localtime import as_utc, utc_text
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import (
    DEFAULT_PAGE_LIMIT,
    parse_channel,
    parse_entity_id,
    parse_page_limit,
)
from chanalytics.query.sql import INSTANT, Params, Select

Reason = Literal["hard_bounce", "complaint", "unsubscribe"]
REASONS: tuple[Reason, ...] = ("hard_bounce", "complaint", "unsubscribe")
SOURCE = "suppression_events"


class Suppression(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    contact_id: str
    channel: str
    reason: Reason
    since: str  # RFC 3339 UTC, milliseconds when present
    message_id: str


class SuppressionsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    items: list[Suppression]
    total: int
    next_cursor: str | None


class SuppressionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    channel: str | None = None
    reason: Reason | None = None
    contact_id: str | None = None
    limit: int = DEFAULT_PAGE_LIMIT
    as_of: datetime | None = None  # the first page's instant: None on the first page
    after: tuple[datetime, str, str] | None = None  # the last (since, contact, channel) shown

    @property
    def digest(self) -> str:
        key = msgspec.json.encode([self.tenant_id, self.channel, self.reason, self.contact_id])
        return hashlib.blake2b(key, digest_size=9).hexdigest()


def parse_suppressions_query(tenant_id: str, *, channel: str | None, reason: str | None,
                             contact_id: str | None, limit: str | None,
                             cursor: str | None) -> SuppressionsQuery:
    if reason is not None and reason not in REASONS:
        raise BadParameter("invalid_reason", f"reason must be one of {'|'.join(REASONS)}",
                           "reason")
    count = parse_page_limit(limit)
    query = SuppressionsQuery(
        tenant_id=tenant_id, channel=parse_channel(channel), reason=reason,
        contact_id=parse_entity_id(contact_id, "contactId"), limit=count)
    if cursor is None:
        return query
    as_of, since, contact, chan = _position(cursor, query.digest)
    return msgspec.structs.replace(query, as_of=as_of, after=(since, contact, chan))


def _items(query: SuppressionsQuery, params: Params, source: str) -> Select:
    """One row per suppressed (contact, channel) of the query: its earliest event."""
    where = ["tenant_id = " + params.bind(query.tenant_id, "String"),
             "ingested_at <= " + (params.bind(query.as_of, INSTANT) if query.as_of
                                  else "{now:DateTime64(3, 'UTC')}")]
    if query.channel:
        where.append("channel = " + params.bind(query.channel, "String"))
    if query.contact_id:
        where.append("contact_id = " + params.bind(query.contact_id, "String"))
    return Select(
        columns=["contact_id", "channel", "min((occurred_at, id, reason, message_id)) AS first"],
        source=source, where=where, group_by="contact_id, channel",
        having=("first.3 = " + params.bind(query.reason, "String")) if query.reason else "")


async def suppressions_page(engine: Engine, query: SuppressionsQuery) -> SuppressionsData:
    """A page of the tenant's suppressions, from the read model as the engine reads it."""
    source = engine.source(SOURCE)
    now = await _server_now(engine, query.tenant_id) if query.as_of is None else query.as_of
    params = Params(now=now)
    items = _items(query, params, source).sql()
    keyset = ""
    if query.after is not None:
        since, contact, channel = query.after
        s, c, ch = (params.bind(since, INSTANT), params.bind(contact, "String"),
                    params.bind(channel, "String"))
        keyset = f"since < {s} OR (since = {s} AND (contact_id, channel) > ({c}, {ch}))"
    page = Select(
        columns=["contact_id", "channel", "first.1 AS since", "first.3 AS reason",
                 "first.4 AS message_id"],
        source=f"({items})", where=[keyset], order_by="since DESC, contact_id, channel",
        limit=params.bind(query.limit + 1, "UInt32"))
    total = Select(columns=["count()"], source=f"({items})")
    rows, counted = await asyncio.gather(*(engine.read(query.tenant_id, sql, params.values)
                                           for sql in (page.sql(), total.sql())))
    shown = rows[: query.limit]
    following = None
    if len(rows) > query.limit:
        contact, channel, since = shown[-1][:3]
        following = _cursor(now, as_utc(since), contact, channel, query.digest)
    return SuppressionsData(
        items=[Suppression(contact_id=r[0], channel=r[1], since=utc_text(as_utc(r[2])),
                           reason=r[3], message_id=r[4]) for r in shown],
        total=int(counted[0][0]), next_cursor=following)


async def suppressed_contacts(engine: Engine, tenant_id: str, end: datetime,
                              channel: str | None = None) -> int:
    """Contacts suppressed on some channel (or on `channel`) by `end`, over all time."""
    params = Params()
    where = ["tenant_id = " + params.bind(tenant_id, "String"),
             "occurred_at < " + params.bind(end, INSTANT)]
    if channel:
        where.append("channel = " + params.bind(channel, "String"))
    select = Select(columns=["uniqExact(contact_id)"], source=engine.source(SOURCE),
                    where=where)
    rows = await engine.read(tenant_id, select.sql(), params.values)
    return int(rows[0][0])


async def _server_now(engine: Engine, tenant_id: str) -> datetime:
    """The storage's clock (what `ingested_at` is written by), not the API's: never kept."""
    rows = await engine.read(
        tenant_id, Select(columns=["now64(3, 'UTC')"], source="system.one").sql(), keep=False)
    return as_utc(rows[0][0])



_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def _instant(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _cursor(as_of: datetime, since: datetime, contact: str, channel: str, digest: str) -> str:
    raw = msgspec.json.encode([_ms(as_of), _ms(since), contact, channel, digest])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str, digest: str) -> tuple[datetime, datetime, str, str]:
    """The snapshot and keyset position of a cursor of this query; anything else is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        as_of, since, contact, channel, found = msgspec.json.decode(
            raw, type=tuple[int, int, str, str, str])
        if found == digest:
            return _instant(as_of), _instant(since), contact, channel
    except (ValueError, TypeError, OverflowError, msgspec.DecodeError):
        pass
    raise BadParameter("invalid_cursor", "the cursor does not belong to this query", "cursor")
