"""The engagement endpoints' parameters: levels, `limit`, `cursor` and `asOf`, each bad
value a `BadParameter` naming it (`engagement.py` answers them)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import DEFAULT_PAGE_LIMIT, parse_entity_id, parse_page_limit

Level = Literal["high", "medium", "low", "inactive"]
# Each level and the least score in it, highest first.
LEVELS: tuple[tuple[Level, int], ...] = (("high", 100), ("medium", 50), ("low", 10),
                                         ("inactive", 0))
MAX_AGE = timedelta(seconds=60)  # how far back a client's asOf may lie
# The default asOf trails the storage clock by this, cut to the second.
TRAIL = timedelta(seconds=1)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LevelCounts(msgspec.Struct, frozen=True, kw_only=True):
    high: int
    medium: int
    low: int
    inactive: int


def level_of(score: int) -> Level:
    return next(name for name, least in LEVELS if score >= least)


def level_range(level: Level) -> tuple[int, int | None]:
    """The least and the greatest score of a level (None: no greatest)."""
    names = [name for name, _ in LEVELS]
    i = names.index(level)
    return LEVELS[i][1], (None if i == 0 else LEVELS[i - 1][1] - 1)


class ContactEngagementQuery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    contact_id: str
    as_of: datetime | None = None  # asked for; None: the default


class EngagementQuery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    level: Level | None = None
    limit: int = DEFAULT_PAGE_LIMIT
    as_of: datetime | None = None  # asked for, or the cursor's; None: the default
    after: tuple[int, str] | None = None  # the last (score, contactId) shown

    @property
    def digest(self) -> str:
        key = msgspec.json.encode([self.tenant_id, self.level])
        return hashlib.blake2b(key, digest_size=9).hexdigest()


def parse_as_of(value: str | None) -> datetime | None:
    """An RFC 3339 date-time with an offset (to the millisecond), or None when absent."""
    if value is None:
        return None
    if _RFC3339.fullmatch(value):
        try:
            text = value.replace("z", "Z").replace("Z", "+00:00")
            fraction = re.search(r"\.(\d+)", text)
            if fraction:  # Python reads at most 6 digits; asOf keeps milliseconds
                text = text.replace(fraction.group(0), "." + fraction.group(1)[:3].ljust(3, "0"))
            return datetime.fromisoformat(text.replace("t", "T")).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise BadParameter("invalid_as_of", "asOf must be an RFC 3339 date-time with an offset, "
                       "such as 2026-12-07T10:15:00Z", "asOf")


def contact_query(tenant_id: str, contact_id: str, as_of: str | None,
                  ) -> ContactEngagementQuery:
    parse_entity_id(contact_id, "contactId")
    return ContactEngagementQuery(tenant_id=tenant_id, contact_id=contact_id,
                                  as_of=parse_as_of(as_of))


def engagement_query(tenant_id: str, *, level: str | None, limit: str | None,
                     cursor: str | None, as_of: str | None) -> EngagementQuery:
    chosen = None if level is None else next(
        (name for name, _ in LEVELS if name == level), None)
    if level is not None and chosen is None:
        names = "|".join(name for name, _ in LEVELS)
        raise BadParameter("invalid_level", f"level must be one of {names}", "level")
    asked = parse_as_of(as_of)
    query = EngagementQuery(tenant_id=tenant_id, level=chosen, limit=parse_page_limit(limit),
                            as_of=asked)
    if cursor is None:
        return query
    snapshot, score, contact = _position(cursor, query.digest)
    if asked is not None and asked != snapshot:
        raise BadParameter("invalid_as_of", "asOf must be the cursor's (or left out)", "asOf")
    return msgspec.structs.replace(query, as_of=snapshot, after=(score, contact))


def needs_clock(asked: datetime | None, *, fixed: bool) -> bool:
    """Whether the answer's instant depends on the storage clock (not a cursor's)."""
    return not (fixed and asked is not None)


def resolve_as_of(asked: datetime | None, now: datetime | None, *, fixed: bool) -> datetime:
    """The instant an answer is computed at: a cursor's as it is (`fixed`), a client's if it
    lies in the last 60 s of `now` (the storage clock, what `stored_at` is written by),
    else `now` one second back, cut to the second."""
    if fixed and asked is not None:
        return asked
    if now is None:
        raise ValueError("the storage clock is needed")
    if asked is None:
        return (now - TRAIL).replace(microsecond=0)
    if not now - MAX_AGE <= asked <= now:
        raise BadParameter("invalid_as_of", "asOf must lie within the last 60 seconds", "asOf")
    return asked


def cursor_text(as_of: datetime, score: int, contact_id: str, digest: str) -> str:
    raw = msgspec.json.encode([(as_of - _EPOCH) // timedelta(milliseconds=1), score,
                               contact_id, digest])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str, digest: str) -> tuple[datetime, int, str]:
    """The snapshot and keyset position of a cursor of this query; anything else is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ms, score, contact, found = msgspec.json.decode(raw, type=tuple[int, int, str, str])
        if found == digest and 0 <= ms < 2**42 and 0 <= score < 2**62 and len(contact) <= 256:
            return _EPOCH + timedelta(milliseconds=ms), score, contact
    except (ValueError, TypeError, OverflowError, msgspec.DecodeError):
        pass
    raise BadParameter("invalid_cursor", "the cursor does not belong to this query", "cursor")

