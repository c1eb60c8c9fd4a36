"""Map `workflow.run.*` events to rows."""

from __future__ import annotations

from datetime import datetime

from chanalytics.mappers.events import WorkflowCompletedEvent, WorkflowEvent
from chanalytics.mappers.rows import AnalyticsRow


def map_workflow_run(
    event: WorkflowEvent | WorkflowCompletedEvent,
    event_type: str,
    occurred_at: datetime,
    stream_seq: int,
) -> AnalyticsRow:
    """Build the row of one workflow run event; only `completed` carries a `status`."""
    data = event.data
    status = ""
    if isinstance(event, WorkflowCompletedEvent):
        status = event.data.status or "completed"
    return AnalyticsRow(
        id=event.id,
        tenant_id=event.tenant_id,
        event_type=event_type,
        entity_type="workflow",
        entity_id=data.run_id,
        occurred_at=occurred_at,
        workflow_id=data.workflow_id,
        entity_name=data.name or None,
        contact_id=data.contact_id or "",
        status=status,
        stream_seq=stream_seq,
    )
