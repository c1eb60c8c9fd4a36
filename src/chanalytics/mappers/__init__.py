"""Turn one raw source event into one `AnalyticsRow`, or say why it never can.

`map_event` is the hot path of ingest: one dict lookup, one msgspec pass that
decodes and validates envelope and data together, the timestamp range check,
then a `match` on the event type to the pure mapper of its source.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import assert_never

import msgspec

from chanalytics.mappers.campaign import map_campaign
from chanalytics.mappers.contact import map_contact
from chanalytics.mappers.errors import (
    EMPTY_PAYLOAD,
    INVALID_DATA,
    INVALID_ENVELOPE,
    INVALID_JSON,
    INVALID_TIMESTAMP,
    REASON_CODES,
    TYPE_MISMATCH,
    UNKNOWN_SUBJECT,
    InvalidEvent,
)
from chanalytics.mappers.events import (
    ROUTES,
    CampaignEvent,
    ContactEvent,
    MessageEvent,
    SequenceEvent,
    SequenceStepEvent,
    SourceEvent,
    WorkflowCompletedEvent,
    WorkflowEvent,
)
from chanalytics.mappers.pipeline import map_message
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.mappers.sequence import map_sequence
from chanalytics.mappers.workflow import map_workflow_run

__all__ = ["REASON_CODES", "InvalidEvent", "map_event"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PATH_MARK = " - at `"


def map_event(subject: str, payload: bytes, stream_seq: int = 0) -> AnalyticsRow:
    """Decode, validate and map one event; raise `InvalidEvent` with a reason code if invalid."""
    route = ROUTES.get(subject)
    if route is None:
        raise InvalidEvent(UNKNOWN_SUBJECT, f"unknown subject {subject!r}")
    decoder, event_type = route
    try:
        # msgspec skips unknown fields without checking their UTF-8; ASCII needs no check.
        if not payload.isascii():
            payload.decode()
        event: SourceEvent = decoder.decode(payload)
    except msgspec.ValidationError as err:  # before DecodeError: it is a subclass
        text = str(err)
        raise InvalidEvent(_classify(text), text) from err
    except msgspec.DecodeError as err:
        if not payload.strip():
            raise InvalidEvent(EMPTY_PAYLOAD, "payload is empty") from err
        raise InvalidEvent(INVALID_JSON, f"payload is not valid JSON: {err}") from err
    except UnicodeDecodeError as err:
        raise InvalidEvent(INVALID_JSON, f"payload is not UTF-8: {err}") from err

    declared = event.type
    if declared is not None and declared != event_type and declared != subject:
        raise InvalidEvent(
            TYPE_MISMATCH,
            f"`type` {declared!r} matches neither {event_type!r} nor {subject!r} - at `$.type`",
        )
    occurred_at = _occurred_at(event.timestamp)

    match event:
        case MessageEvent():
            return map_message(event, event_type, occurred_at, stream_seq)
        case CampaignEvent():
            return map_campaign(event, event_type, occurred_at, stream_seq)
        case WorkflowEvent() | WorkflowCompletedEvent():
            return map_workflow_run(event, event_type, occurred_at, stream_seq)
        case SequenceEvent() | SequenceStepEvent():
            return map_sequence(event, event_type, occurred_at, stream_seq)
        case ContactEvent():
            return map_contact(event, event_type, occurred_at, stream_seq)
        case _:
            assert_never(event)


def _occurred_at(timestamp: datetime | int) -> datetime:
    """Return the event time as UTC truncated to milliseconds, inside [1970, 2106)."""
    if isinstance(timestamp, int):  # epoch ms, range already enforced by the decoder
        return _EPOCH + timedelta(milliseconds=timestamp)
    if timestamp.tzinfo is not UTC:
        # Bound the year first: converting year 1 or 9999 can overflow.
        if not 1969 <= timestamp.year <= 2106:
            raise _out_of_range(timestamp)
        timestamp = timestamp.astimezone(UTC)
    if not 1970 <= timestamp.year <= 2105:
        raise _out_of_range(timestamp)
    sub_ms = timestamp.microsecond % 1000
    if sub_ms:
        timestamp = timestamp.replace(microsecond=timestamp.microsecond - sub_ms)
    return timestamp


def _out_of_range(timestamp: datetime) -> InvalidEvent:
    return InvalidEvent(
        INVALID_TIMESTAMP,
        f"`timestamp` {timestamp.isoformat()} is outside [1970-01-01, 2106-01-01) UTC"
        " - at `$.timestamp`",
    )


def _classify(text: str) -> str:
    """Pick the reason code of a msgspec validation error from the path it names."""
    head, mark, path = text.rpartition(_PATH_MARK)
    if not mark:  # the root: not an object, or a missing top-level field
        return INVALID_TIMESTAMP if text.endswith("`timestamp`") else INVALID_ENVELOPE
    if path.startswith("$.data"):
        # `data` itself of the wrong type is an envelope fault; a field missing in it is not.
        if path == "$.data`" and head.startswith("Expected `"):
            return INVALID_ENVELOPE
        return INVALID_DATA
    if path == "$.timestamp`":
        return INVALID_TIMESTAMP
    if path == "$.type`":
        return TYPE_MISMATCH
    return INVALID_ENVELOPE
