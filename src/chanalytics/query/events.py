"""`GET /events`: the tenant's stored events, newest first, by keyset pages.

A page is the events before the previous page's last `(occurred_at, id)`, so following
the cursors returns every event stored when the first page was read exactly once, while
newer ones arrive above it. An export streams the same ordered statement to its end.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from chanalytics.query.clock import TimeWindow
from chanalytics.query.compiler import time_range
from chanalytics.query.dimensions import FILTER_COLUMNS
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import DEFAULT_PAGE_LIMIT, parse_entity_id, parse_page_limit
from chanalytics.query.measures import LIFECYCLE_TYPES, MESSAGE_TYPES
from chanalytics.query.sql import INSTANT, Params, Select
from chanalytics.query.tables import Grain

EVENT_TYPES = MESSAGE_TYPES | LIFECYCLE_TYPES | {"contact_created", "contact_updated"}
# Item field -> column, in the contract's order.
FIELDS: Mapping[str, str] = {
    "id": "id", "type": "event_type", "occurredAt": "occurred_at", "ingestedAt": "ingested_at",
    "channel": "channel", "entityType": "entity_type", "entityId": "entity_id",
    "contactId": "contact_id", "campaignId": "campaign_id", "workflowId": "workflow_id",
    "sequenceId": "sequence_id", "templateId": "template_id", "provider": "provider",
    "cost": "cost", "durationMs": "duration_ms", "errorCode": "error_code",
    "bounceType": "bounce_type", "url": "url", "metadata": "metadata",
}


class EventsQuery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    window: TimeWindow
    types: tuple[str, ...] = ()
    equal: tuple[tuple[str, str], ...] = ()  # (column, value)
    limit: int = DEFAULT_PAGE_LIMIT
    after: tuple[datetime, str] | None = None  # the last (occurred_at, id) already shown

    @property
    def digest(self) -> str:
        key = msgspec.json.encode([self.tenant_id, self.types, self.equal,
                                   self.window.start, self.window.tz_name])
        return hashlib.blake2b(key, digest_size=9).hexdigest()


def parse_events_query(tenant_id: str, window: TimeWindow, parameters: Mapping[str, str | None],
                       types: str | None, limit: str | None, cursor: str | None) -> EventsQuery:
    chosen = tuple(sorted({t.strip() for t in (types or "").split(",") if t.strip()}))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise BadParameter("invalid_types", f"unknown event type {unknown[0]!r:.80}", "types")
    equal = tuple((FILTER_COLUMNS[name], checked)
                  for name, value in parameters.items()
                  if (checked := parse_entity_id(value, name)) is not None)
    count = parse_page_limit(limit)
    query = EventsQuery(tenant_id=tenant_id, window=window, types=chosen, equal=equal,
                        limit=count)
    if cursor is None:
        return query
    return msgspec.structs.replace(query, after=_position(cursor, query.digest))


def next_cursor(query: EventsQuery, last: Sequence[Any]) -> str:
    raw = msgspec.json.encode([int(last[2].replace(tzinfo=UTC).timestamp() * 1000), last[0],
                               query.digest])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str, digest: str) -> tuple[datetime, str]:
    """The keyset position of a cursor of this query; anything else is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_ms, event_id, found = msgspec.json.decode(raw, type=tuple[int, str, str])
        if found == digest:
            return datetime.fromtimestamp(at_ms / 1000, UTC), event_id
    except (ValueError, TypeError, OverflowError, msgspec.DecodeError):
        pass
    raise BadParameter("invalid_cursor", "the cursor does not belong to this query", "cursor")


def _export_column(field: str, column: str, *, typed: bool) -> str:
    """A column as an export written by ClickHouse shows it: for CSV every instant as
    RFC 3339 text; `typed` (Parquet) keeps instants as UTC timestamps."""
    if column in ("occurred_at", "ingested_at"):
        if typed:
            return f"{column} AS {field}"
        return f"concat(replaceOne(toString({column}), ' ', 'T'), 'Z') AS {field}"
    if column == "cost":
        return f"toFloat64(cost) AS {field}"
    if column == "duration_ms":
        return f"duration_ms AS {field}"
    if column == "metadata":
        return f"if(metadata IN ('', '{{}}'), NULL, metadata) AS {field}"
    if column in ("id", "event_type"):
        return f"{column} AS {field}"
    return f"nullIf({column}, '') AS {field}"


# CSV as RFC 4180 has it: CRLF line ends, and absent values empty.
CSV_SETTINGS = {"format_csv_null_representation": "", "output_format_csv_crlf_end_of_line": 1}


def events_statement(query: EventsQuery, *, page: bool, csv: bool = False,
                     parquet: bool = False) -> tuple[str, dict[str, Any]]:
    """The events in order, newest first; a page holds one row past `limit` (so the
    handler knows whether another page follows). With `csv` or `parquet`, the columns
    are the items' fields, formatted for ClickHouse's writer of that format."""
    params = Params(tenant=query.tenant_id)
    where = ["tenant_id = {tenant:String}",
             time_range(Grain.RAW, query.window.start, query.window.end, params)]
    if query.types:
        where.append(f"event_type IN {params.bind(list(query.types), 'Array(String)')}")
    where += [f"{column} = {params.bind(value, 'String')}" for column, value in query.equal]
    if query.after is not None:
        at, event_id = query.after
        where.append(f"(occurred_at, id) < ({params.bind(at, INSTANT)}, "
                     f"{params.bind(event_id, 'String')})")
    columns = ([_export_column(f, c, typed=parquet) for f, c in FIELDS.items()]
               if csv or parquet else list(FIELDS.values()))
    select = Select(columns=columns, source="analytics_events", where=where,
                    order_by="analytics_events.occurred_at DESC, analytics_events.id DESC")
    if page:
        select.limit = params.bind(query.limit + 1, "UInt32")
    return select.sql(), params.values


def _instant(value: datetime) -> str:
    text = value.replace(tzinfo=None).isoformat(timespec="milliseconds")
    return f"{text}Z"


def item(row: Sequence[Any]) -> dict[str, Any]:
    """One event as the contract shows it: empty values as null, metadata as an object."""
    out: dict[str, Any] = {}
    for field, value in zip(FIELDS, row, strict=True):
        if isinstance(value, datetime):
            out[field] = _instant(value)
        elif isinstance(value, Decimal):
            out[field] = float(value)
        elif field == "metadata":
            out[field] = msgspec.Raw(value.encode()) if value not in ("", "{}") else None
        else:
            out[field] = None if value == "" else value
    return out
