"""Map `campaign.*` events to rows."""

from __future__ import annotations

from datetime import datetime

from chanalytics.mappers.events import CampaignEvent
from chanalytics.mappers.rows import AnalyticsRow


def map_campaign(
    event: CampaignEvent, event_type: str, occurred_at: datetime, stream_seq: int
) -> AnalyticsRow:
    """Build the row of one campaign event; the campaign is both the entity and `campaign_id`."""
    data = event.data
    return AnalyticsRow(
        id=event.id,
        tenant_id=event.tenant_id,
        event_type=event_type,
        entity_type="campaign",
        entity_id=data.campaign_id,
        occurred_at=occurred_at,
        campaign_id=data.campaign_id,
        entity_name=data.name or None,
        channel=data.channel or "",
        recipient_count=data.recipient_count,
        stream_seq=stream_seq,
    )
