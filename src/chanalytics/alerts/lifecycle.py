"""An alert is one episode of one condition: `firing` from the first evaluation where the
condition holds, `resolved` at the first where it no longer does. Pure: given what was
evaluated and the alerts still firing, the state changes to record.

Ids are deterministic, so a process that crashed between recording a change and
delivering it (or a second process) re-sends the *same* delivery id, which the receiver
and JetStream's duplicate window drop: an alert's id from its tenant, condition and start;
a delivery's from the alert, the state and the announcement's number (a firing alert is
announced again every `REANNOUNCE`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from chanalytics.alerts.model import Alert, Kind, Outgoing

REANNOUNCE = timedelta(hours=24)


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """One condition as just evaluated: `holds` None when it could not be (too little
    volume, no value): then nothing changes."""

    tenant_id: str
    kind: Kind
    condition: str
    holds: bool | None
    message: str
    rule_id: str | None = None
    metric: str = ""
    channel: str | None = None
    provider: str | None = None
    value: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def alert_id(tenant_id: str, condition: str, started_at: datetime) -> str:
    return "alr_" + _digest(tenant_id, condition, started_at.isoformat())


def delivery_id(alert: Alert) -> str:
    return "dlv_" + _digest(alert.id, alert.state, str(alert.announcements))


def payload(alert: Alert, delivery: str) -> bytes:
    """What every channel carries: the delivery's id, the event and the alert."""
    return msgspec.json.encode({"deliveryId": delivery, "event": f"alert.{alert.state}",
                                "tenantId": alert.tenant_id or None, "alert": alert.public()})


def changes(observed: Iterable[Observation], firing: Mapping[tuple[str, str], Alert],
            now: datetime, *, absent_resolve: Sequence[Alert] = ()) -> list[Alert]:
    """The alerts' new rows at `now`. `firing` maps (tenant, condition) to its open alert;
    `absent_resolve` are open alerts whose condition is gone (a deleted rule, last month's
    budget): they resolve."""
    out: list[Alert] = []
    for o in observed:
        open_ = firing.get((o.tenant_id, o.condition))
        if o.holds is None:
            continue
        if o.holds and open_ is None:
            out.append(Alert(
                tenant_id=o.tenant_id, id=alert_id(o.tenant_id, o.condition, now),
                kind=o.kind, condition=o.condition, state="firing", started_at=now,
                announced_at=now, rule_id=o.rule_id, metric=o.metric, channel=o.channel,
                provider=o.provider, value=o.value, threshold=o.threshold, message=o.message,
                details=o.details))
        elif o.holds and open_ is not None and now - open_.announced_at >= REANNOUNCE:
            out.append(msgspec.structs.replace(
                open_, announced_at=now, announcements=open_.announcements + 1, value=o.value,
                message=o.message, details=o.details or open_.details))
        elif not o.holds and open_ is not None:
            out.append(msgspec.structs.replace(
                open_, state="resolved", resolved_at=now, value=o.value,
                message=o.message, details=o.details or open_.details))
    for gone in absent_resolve:
        out.append(msgspec.structs.replace(gone, state="resolved", resolved_at=now,
                                           message=f"{gone.message} (condition removed)"))
    return out


def outgoing(alert: Alert, now: datetime) -> Outgoing:
    """The delivery of one recorded state change."""
    delivery = delivery_id(alert)
    return Outgoing(tenant_id=alert.tenant_id, delivery_id=delivery, alert_id=alert.id,
                    rule_id=alert.rule_id,
                    event="alert.firing" if alert.state == "firing" else "alert.resolved",
                    payload=payload(alert, delivery), created_at=now)
