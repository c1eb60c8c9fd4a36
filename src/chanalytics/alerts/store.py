"""Rules, alerts and their deliveries in ClickHouse: versioned rows of ReplacingMergeTree
tables read with FINAL (the latest version of each row wins; a deleted rule is a row with
`deleted`). ClickHouse rather than a NATS KV bucket for the reason of `budgets.py`: every
API process has it, and an evaluator reads every tenant's rules in one statement.

Writes happen under the evaluator's lease (`service.py`) or from the API (rules), so a
row's `version` (microseconds, strictly increasing in a process) orders them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from chanalytics.alerts.model import Alert, Outgoing
from chanalytics.alerts.rules import Rule
from chanalytics.clickhouse.storage import Storage
from chanalytics.localtime import as_utc, utc_text
from chanalytics.query.errors import BadParameter

_RULES = "SELECT tenant_id, rule FROM alert_rules FINAL WHERE NOT deleted"
_ALERT_COLUMNS = ("tenant_id", "alert_id", "kind", "rule_id", "condition", "state",
                  "started_at", "resolved_at", "announced_at", "announcements", "metric",
                  "channel", "provider", "value", "threshold", "message", "details", "version")
_ALERTS = f"SELECT {', '.join(_ALERT_COLUMNS[:-1])} FROM alerts FINAL"  # noqa: S608
_DELIVERY_COLUMNS = ("tenant_id", "delivery_id", "alert_id", "rule_id", "event", "payload",
                     "status", "outcomes", "created_at", "version")
_PENDING = ("SELECT tenant_id, delivery_id, alert_id, rule_id, event, payload, created_at, "
            "outcomes "
            "FROM alert_deliveries FINAL WHERE status = 'pending' ORDER BY created_at")
_OUTCOMES = ("SELECT status, outcomes FROM alert_deliveries FINAL "
             "WHERE tenant_id = {tenant:String} AND delivery_id = {id:String}")
# FINAL merges a row's versions before WHERE applies only if the filter is not moved to
# PREWHERE (which would see an old `firing` version beside the new `resolved` one).
_AFTER_FINAL = " SETTINGS optimize_move_to_prewhere_if_final = 0"
_rule_decoder = msgspec.json.Decoder(Rule)
_details = msgspec.json.Decoder(dict[str, Any])


class AlertStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._last = 0

    def _version(self) -> int:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return self._last

    # -- rules -------------------------------------------------------------------------

    async def put_rule(self, tenant_id: str, rule: Rule, *, deleted: bool = False) -> None:
        row = {"tenant_id": tenant_id, "rule_id": rule.id, "deleted": deleted,
               "rule": msgspec.json.encode(rule).decode(),
               "updated_at": utc_text(datetime.fromtimestamp(self._version() / 1e6, UTC))}
        await self.storage.insert_json("alert_rules", list(row), msgspec.json.encode(row))

    async def rules(self, tenant_id: str | None = None) -> list[tuple[str, Rule]]:
        """Every live rule of `tenant_id` (of every tenant with None), oldest first."""
        sql, params = _RULES, {}
        if tenant_id is not None:
            sql, params = _RULES + " AND tenant_id = {tenant:String}", {"tenant": tenant_id}
        rows = await self.storage.query(sql + " ORDER BY tenant_id, updated_at" + _AFTER_FINAL,
                                        params)
        return [(str(t), _rule_decoder.decode(r)) for t, r in rows]

    async def rule(self, tenant_id: str, rule_id: str) -> Rule | None:
        rows = await self.storage.query(
            _RULES + " AND tenant_id = {tenant:String} AND rule_id = {id:String}" + _AFTER_FINAL,
            {"tenant": tenant_id, "id": rule_id})
        return _rule_decoder.decode(rows[0][1]) if rows else None

    # -- alerts ------------------------------------------------------------------------

    async def firing(self) -> list[Alert]:
        """Every alert whose episode has not ended, of every tenant."""
        return [_alert(r) for r in await self.storage.query(
            _ALERTS + " WHERE state = 'firing'" + _AFTER_FINAL)]

    async def page(self, tenant_id: str, *, state: str | None, kind: str | None, limit: int,
                   cursor: str | None) -> tuple[list[Alert], str | None]:
        """A tenant's alerts newest first (by start, then id), `limit` after `cursor`."""
        where = ["tenant_id = {tenant:String}"]
        params: dict[str, Any] = {"tenant": tenant_id, "limit": limit + 1}
        if state is not None:
            where.append("state = {state:String}")
            params["state"] = state
        if kind is not None:
            where.append("kind = {kind:String}")
            params["kind"] = kind
        if cursor is not None:
            started, alert_id = _after(cursor)
            where.append("(started_at, alert_id) < ({started:DateTime64(3, 'UTC')}, {id:String})")
            params |= {"started": started, "id": alert_id}
        rows = await self.storage.query(
            f"{_ALERTS} WHERE {' AND '.join(where)} "
            "ORDER BY started_at DESC, alert_id DESC LIMIT {limit:UInt32}" + _AFTER_FINAL,
            params)
        alerts = [_alert(r) for r in rows[:limit]]
        more = len(rows) > limit
        return alerts, _cursor(alerts[-1]) if more and alerts else None

    async def record(self, alerts: Sequence[Alert], outgoing: Sequence[Outgoing]) -> None:
        """The alerts' new rows and their deliveries, pending (deliveries first: an alert
        row without its delivery would be a state change nobody hears of)."""
        if outgoing:
            await self.storage.insert_json("alert_deliveries", _DELIVERY_COLUMNS, b"\n".join(
                msgspec.json.encode(_delivery_row(o, self._version())) for o in outgoing))
        if alerts:
            await self.storage.insert_json("alerts", _ALERT_COLUMNS, b"\n".join(
                msgspec.json.encode(_alert_row(a, self._version())) for a in alerts))

    # -- deliveries --------------------------------------------------------------------

    async def pending(self) -> list[Outgoing]:
        return [Outgoing(tenant_id=t, delivery_id=d, alert_id=a, rule_id=r or None,
                         event=e, payload=p.encode(), created_at=as_utc(c),
                         outcomes=msgspec.json.decode(o))
                for t, d, a, r, e, p, c, o in await self.storage.query(
                    _PENDING + _AFTER_FINAL)]

    async def delivered(self, item: Outgoing, outcomes: list[dict[str, Any]], *,
                        done: bool = True) -> None:
        """What was sent of `item`; `done` False leaves it pending for the next pass."""
        row = _delivery_row(item, self._version()) | {
            "status": "done" if done else "pending",
            "outcomes": msgspec.json.encode(outcomes).decode()}
        await self.storage.insert_json("alert_deliveries", _DELIVERY_COLUMNS,
                                       msgspec.json.encode(row))

    async def outcomes(self, tenant_id: str, delivery_id: str) -> tuple[str, Any] | None:
        """A delivery's status and its targets' recorded outcomes (None: unknown id)."""
        rows = await self.storage.query(_OUTCOMES + _AFTER_FINAL,
                                        {"tenant": tenant_id, "id": delivery_id})
        return (str(rows[0][0]), msgspec.json.decode(rows[0][1])) if rows else None


def _delivery_row(o: Outgoing, version: int) -> dict[str, Any]:
    return {"tenant_id": o.tenant_id, "delivery_id": o.delivery_id, "alert_id": o.alert_id,
            "rule_id": o.rule_id or "", "event": o.event, "payload": o.payload.decode(),
            "status": "pending", "outcomes": "[]", "created_at": utc_text(o.created_at),
            "version": version}


def _alert_row(a: Alert, version: int) -> dict[str, Any]:
    return {"tenant_id": a.tenant_id, "alert_id": a.id, "kind": a.kind,
            "rule_id": a.rule_id or "", "condition": a.condition, "state": a.state,
            "started_at": utc_text(a.started_at),
            "resolved_at": None if a.resolved_at is None else utc_text(a.resolved_at),
            "announced_at": utc_text(a.announced_at), "announcements": a.announcements,
            "metric": a.metric, "channel": a.channel or "", "provider": a.provider or "",
            "value": a.value, "threshold": a.threshold, "message": a.message,
            "details": msgspec.json.encode(a.details).decode(), "version": version}


def _alert(row: tuple[Any, ...]) -> Alert:
    (tenant, alert_id, kind, rule_id, condition, state, started, resolved, announced,
     announcements, metric, channel, provider, value, threshold, message, details) = row
    return Alert(tenant_id=tenant, id=alert_id, kind=kind, condition=condition, state=state,
                 started_at=as_utc(started), announced_at=as_utc(announced),
                 resolved_at=None if resolved is None else as_utc(resolved),
                 announcements=int(announcements), rule_id=rule_id or None, metric=metric,
                 channel=channel or None, provider=provider or None,
                 value=None if value is None else float(value),
                 threshold=None if threshold is None else float(threshold), message=message,
                 details=_details.decode(details) if details else {})


def _cursor(last: Alert) -> str:
    raw = msgspec.json.encode([utc_text(last.started_at), last.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(text: str) -> tuple[datetime, str]:
    try:
        started, alert_id = msgspec.json.decode(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), type=tuple[datetime, str])
        return as_utc(started), alert_id
    except (ValueError, msgspec.DecodeError):
        raise BadParameter("invalid_cursor", "not a cursor of this list", "cursor") from None


