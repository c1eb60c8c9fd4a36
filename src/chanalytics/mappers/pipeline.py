"""Map `pipeline.message.*` events to rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from chanalytics.mappers.events import MessageEvent
from chanalytics.mappers.rows import AnalyticsRow

_encode = msgspec.json.encode
_replace = msgspec.structs.replace
# The stored cost's scale: Decimal(38, 12).
_COST_STEP = Decimal("1e-12")


def map_message(
    event: MessageEvent, event_type: str, occurred_at: datetime, stream_seq: int
) -> AnalyticsRow:
    """Build the row of one message event; `sourceId` also fills the id column of its source."""
    data = event.data
    source_type = data.source_type or "manual"
    source_id = data.source_id or ""
    geo = data.geo
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
        contact_id=data.contact_id or "",
        source_type=source_type,
        source_id=source_id,
        campaign_id=source_id if source_type == "campaign" else "",
        workflow_id=source_id if source_type == "workflow" else "",
        sequence_id=source_id if source_type == "sequence" else "",
        template_id=data.template_id or "",
        stream_seq=stream_seq,
    )
    row = _replace(
        row,
        template_name=data.template_name or None,
        provider=data.provider or "",
        cost=None if data.cost is None else cost_of(data.cost),
        duration_ms=data.duration_ms,
        error_code=data.error_code or "",
        bounce_type=data.bounce_type or "",
        url=data.url or "",
        step_number=data.step_number or 0,
        metadata="{}" if data.metadata is None else _encode(data.metadata).decode(),
    )
    if data.user_agent is None and geo is None and not data.machine_open:
        return row
    return _replace(
        row,
        user_agent=data.user_agent or "",
        geo_country=(geo.country or "") if geo is not None else "",
        geo_city=(geo.city or "") if geo is not None else "",
        machine_open=bool(data.machine_open),
    )


def cost_of(value: float) -> Decimal:
    """The cost a publisher wrote, as a decimal: the shortest text that reads back as the
    same float is the number as written (JSON `0.0075`, not 0.00749999…)."""
    return Decimal(repr(value)).quantize(_COST_STEP)
