"""What the lifecycle records: an alert (one episode of one condition) and a delivery of
one of its state changes (the outbox row the dispatcher sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from chanalytics.localtime import utc_text

Kind = Literal["rule", "anomaly", "budget", "ingest"]
State = Literal["firing", "resolved"]
SYSTEM = ""  # the tenant of a service-wide alert (ingest health)


class AlertView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An alert as `GET /alerts` answers it and every delivery carries it; an anomaly's
    also with the expected (mean) and actual rates and their deviation, in points."""

    id: str
    kind: Kind
    rule_id: str | None
    state: State
    started_at: str
    resolved_at: str | None
    metric: str
    channel: str | None
    provider: str | None
    value: float | None
    threshold: float | None
    message: str
    expected: float | None = None
    actual: float | None = None
    deviation: float | None = None


class AlertsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    items: list[AlertView]
    next_cursor: str | None


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    id: str
    kind: Kind
    condition: str  # what the episode is of: a rule's id, `budget:2026-12:75`, …
    state: State
    started_at: datetime
    announced_at: datetime
    announcements: int = 1
    resolved_at: datetime | None = None
    rule_id: str | None = None
    metric: str = ""
    channel: str | None = None
    provider: str | None = None
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    def public(self) -> AlertView:
        d = self.details
        return AlertView(
            id=self.id, kind=self.kind, rule_id=self.rule_id, state=self.state,
            started_at=utc_text(self.started_at),
            resolved_at=None if self.resolved_at is None else utc_text(self.resolved_at),
            metric=self.metric, channel=self.channel, provider=self.provider,
            value=self.value, threshold=self.threshold, message=self.message,
            expected=d.get("expected"), actual=d.get("actual"), deviation=d.get("deviation"))


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One state change to deliver: to NATS and to the rule's deliveries, under one id."""

    tenant_id: str
    delivery_id: str
    alert_id: str
    rule_id: str | None
    event: Literal["alert.firing", "alert.resolved"]
    payload: bytes
    created_at: datetime
    # What earlier passes sent (a delivery left pending while NATS was down).
    outcomes: list[dict[str, Any]] = msgspec.field(default_factory=list)
