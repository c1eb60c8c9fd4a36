"""Map `pipeline.message.*` events to rows."""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET

from chanalytics.events import MessageEvent
from chanalytics.rows import AnalyticsRow

_encode = msgspec.json.encode
_replace = msgspec.structs.replace


def map_message(
    event: MessageEvent, event_type: str, occurred_at: datetime, stream_seq: int
) -> AnalyticsRow:
    """Build the row of one message event; `sourceId` also fills the id column of its source."""
    data = event.data
    source_type = data.source_type
    source_id = data.source_id
    # Two calls of at most 15 keywords each: CPython compiles a call with more into
    # a dict-unpacking call, which makes the Struct constructor about four times slower.
    row = AnalyticsRow(
        id=event.id,
        tenant_id=event.tenant_id,
        event_type=event_type,
        entity_type="message",
        entity_id=data.message_id,
        occurred_at=occurred_at,
        channel=data.channel,
        contact_id=data.contact_id,
        source_type=source_type,
        source_id=source_id,
        campaign_id=source_id if source_type == "campaign" else "",
        workflow_id=source_id if source_type == "workflow" else "",
        sequence_id=source_id if source_type == "sequence" else "",
        template_id=data.template_id,
        stream_seq=stream_seq,
    )
    return _replace(
        row,
        template_name=data.template_name or None,
        provider=data.provider,
        cost=None if data.cost is UNSET else data.cost,
        duration_ms=None if data.duration_ms is UNSET else data.duration_ms,
        error_code=data.error_code,
        bounce_type=data.bounce_type or "",
        url=data.url,
        step_number=data.step_number,
        metadata="{}" if data.metadata is UNSET else _encode(data.metadata).decode(),
    )
