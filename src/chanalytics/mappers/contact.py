"""Map `contact.*` events to rows."""

from __future__ import annotations

from datetime import datetime

from chanalytics.mappers.events import ContactEvent
from chanalytics.mappers.rows import AnalyticsRow


def map_contact(
    event: ContactEvent, event_type: str, occurred_at: datetime, stream_seq: int
) -> AnalyticsRow:
    """Build the row of one contact event; the contact is both the entity and `contact_id`."""
    data = event.data
    return AnalyticsRow(
        id=event.id,
        tenant_id=event.tenant_id,
        event_type=event_type,
        entity_type="contact",
        entity_id=data.contact_id,
        occurred_at=occurred_at,
        contact_id=data.contact_id,
        contact_source=data.source or "",
        stream_seq=stream_seq,
    )
