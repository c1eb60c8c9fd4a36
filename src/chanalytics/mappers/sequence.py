"""Map `sequence.*` events to rows."""

from __future__ import annotations

from datetime import datetime

from chanalytics.mappers.events import SequenceEvent, SequenceStepEvent
from chanalytics.mappers.rows import AnalyticsRow


def map_sequence(
    event: SequenceEvent | SequenceStepEvent,
    event_type: str,
    occurred_at: datetime,
    stream_seq: int,
) -> AnalyticsRow:
    """Build the row of one sequence event; the enrollment is the entity."""
    data = event.data
    return AnalyticsRow(
        id=event.id,
        tenant_id=event.tenant_id,
        event_type=event_type,
        entity_type="sequence",
        entity_id=data.enrollment_id,
        occurred_at=occurred_at,
        sequence_id=data.sequence_id,
        entity_name=data.name or None,
        contact_id=data.contact_id or "",
        step_number=data.step_number or 0,
        stream_seq=stream_seq,
    )
