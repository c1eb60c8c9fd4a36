"""The unified `analytics_events` row: what every source event becomes.

Field names are the ClickHouse column names, so a list of rows encodes straight
to JSONEachRow (`msgspec.json.Encoder().encode_lines(rows)`) for the insert.
Absent ids and labels are empty strings rather than NULL: ClickHouse stores and
filters them cheaper, and no contract id is ever empty. Optional numbers whose
zero is meaningful (cost, duration, recipient count) stay `None`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec


class AnalyticsRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of `analytics_events`, as built by a mapper from one source event."""

    id: str
    tenant_id: str
    event_type: str
    entity_type: str
    entity_id: str
    occurred_at: datetime
    channel: str = ""
    contact_id: str = ""
    source_type: str = ""
    source_id: str = ""
    campaign_id: str = ""
    workflow_id: str = ""
    sequence_id: str = ""
    template_id: str = ""
    template_name: str | None = None
    entity_name: str | None = None
    provider: str = ""
    cost: Decimal | None = None
    duration_ms: int | None = None
    error_code: str = ""
    bounce_type: str = ""
    url: str = ""
    step_number: int = 0
    status: str = ""
    recipient_count: int | None = None
    contact_source: str = ""
    user_agent: str = ""
    geo_country: str = ""
    geo_city: str = ""
    machine_open: bool = False
    metadata: str = "{}"
    stream_seq: int = 0


COLUMNS: tuple[str, ...] = AnalyticsRow.__struct_fields__
