"""An independent reading of `API-REPORTS.md`'s `POST /query`, in plain Python over the
contract events (the oracle's `Event`s), sharing no code with the service.

Decisions the contract leaves open, as the service documents them: a row exists when an
event of a type some requested metric counts falls in it; rows order by `orderBy` on the
exact (unrounded) values with nulls last, then by the dimensions ascending with absent
values first; percentiles are checked against the contract's tolerance, not compared.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from oracle import (
    WEEKDAYS,
    Event,
    _campaign_of,
    bucket_of,
    buckets,
    change,
    previous,
    rate,
    utc_text,
)

MESSAGE = ("message_sent", "message_delivered", "message_opened", "message_clicked",
           "message_bounced", "message_complained", "message_unsubscribed", "message_failed")
Counter = Callable[[list[Event]], Any]


def _of(kind: str) -> list[str]:
    return [f"message_{kind}"]


def _count(kind: str) -> Counter:
    return lambda es: sum(1 for e in es if e.type == kind)


def _distinct(kind: str, field: str, keep: Callable[[Event], bool] = lambda e: True) -> Counter:
    return lambda es: len({e.data[field] for e in es if e.type == kind and e.data.get(field)
                           and keep(e)})


def _round(value: Fraction, places: int) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _cost(es: list[Event]) -> Fraction:
    return sum((Fraction(Decimal(repr(e.data["cost"]))) for e in es
                if e.type == "message_sent" and e.data.get("cost") is not None), Fraction(0))


def _costed(es: list[Event]) -> int:
    return sum(1 for e in es if e.type == "message_sent" and e.data.get("cost") is not None)


def _durations(es: list[Event]) -> list[int]:
    return sorted(e.data["durationMs"] for e in es
                  if e.type == "message_delivered" and e.data.get("durationMs") is not None)


def _human(e: Event) -> bool:
    return e.data.get("machineOpen") is not True


# metric -> (event types it counts, its value over a group's events)
METRICS: dict[str, tuple[Sequence[str], Callable[[list[Event]], Any]]] = {
    "sent": (_of("sent"), _count("message_sent")),
    "delivered": (_of("delivered"), _count("message_delivered")),
    "failed": (_of("failed"), _count("message_failed")),
    "bounced": (_of("bounced"), _count("message_bounced")),
    "hardBounced": (_of("bounced"), lambda es: sum(
        1 for e in es if e.type == "message_bounced" and e.data.get("bounceType") == "hard")),
    "complained": (_of("complained"), _count("message_complained")),
    "unsubscribed": (_of("unsubscribed"), _count("message_unsubscribed")),
    "opened": (_of("opened"), _distinct("message_opened", "messageId")),
    "clicked": (_of("clicked"), _distinct("message_clicked", "messageId")),
    "humanOpened": (_of("opened"), _distinct("message_opened", "messageId", _human)),
    "uniqueContacts": (MESSAGE, lambda es: len({e.data["contactId"] for e in es
                                                if e.type in MESSAGE and e.data.get("contactId")})),
    "totalCost": (_of("sent"), lambda es: _round(_cost(es), 4)),
    "avgCostPerMessage": (_of("sent"), lambda es: _round(_cost(es) / _costed(es), 6)
                          if _costed(es) else None),
    "avgDeliveryMs": (_of("delivered"), lambda es: _round(
        Fraction(sum(_durations(es)), len(_durations(es))), 1) if _durations(es) else None),
    "workflowRuns": (["workflow_run_started"], _count("workflow_run_started")),
    "workflowCompleted": (["workflow_run_completed"], lambda es: sum(
        1 for e in es if e.type == "workflow_run_completed"
        and e.data.get("status", "completed") == "completed")),
    "workflowFailed": (["workflow_run_completed"], lambda es: sum(
        1 for e in es if e.type == "workflow_run_completed" and e.data.get("status") == "failed")),
    "workflowGoals": (["workflow_run_goal_reached"], _count("workflow_run_goal_reached")),
    "enrollments": (["sequence_enrollment_enrolled"], _count("sequence_enrollment_enrolled")),
    "repliedEnrollments": (["sequence_enrollment_replied"],
                           _distinct("sequence_enrollment_replied", "enrollmentId")),
}
RATES = {"deliveryRate": ("delivered", "sent"), "failureRate": ("failed", "sent"),
         "bounceRate": ("bounced", "sent"), "complaintRate": ("complained", "delivered"),
         "unsubscribeRate": ("unsubscribed", "delivered"), "openRate": ("opened", "delivered"),
         "humanOpenRate": ("humanOpened", "delivered"), "clickRate": ("clicked", "delivered"),
         "clickToOpenRate": ("clicked", "opened")}
PERCENTILES = {"p50DeliveryMs": 0.5, "p95DeliveryMs": 0.95, "p99DeliveryMs": 0.99}


def counts(metric: str, e: Event) -> bool:
    """Whether `metric` counts event `e` (a row needs one counted event): an event of its
    types; for a distinct count of contacts, one that names a contact."""
    return e.type in types_of(metric) and (metric != "uniqueContacts"
                                           or bool(e.data.get("contactId")))


def types_of(metric: str) -> set[str]:
    if metric in RATES:
        return {t for part in RATES[metric] for t in METRICS[part][0]}
    if metric in PERCENTILES:
        return {"message_delivered"}
    return set(METRICS[metric][0])


def value_of(metric: str, es: list[Event]) -> Any:
    """The metric's answer; a percentile as the (low, high) interval any right answer is in."""
    if metric in RATES:
        part, whole = RATES[metric]
        return rate(METRICS[part][1](es), METRICS[whole][1](es))
    if metric in PERCENTILES:
        xs = _durations(es)
        if not xs:
            return None
        r = PERCENTILES[metric] * (len(xs) - 1)
        return (0.99 * xs[math.floor(r)], 1.01 * xs[math.ceil(r)])
    return METRICS[metric][1](es)


def exact_of(metric: str, es: list[Event]) -> Any:
    """What rows are ordered by: the unrounded value."""
    if metric in RATES:
        part, whole = RATES[metric]
        w = METRICS[whole][1](es)
        return Fraction(METRICS[part][1](es), w) if w else 0
    if metric == "totalCost":
        return _cost(es)
    if metric == "avgCostPerMessage":
        return _cost(es) / _costed(es) if _costed(es) else None
    if metric == "avgDeliveryMs":
        xs = _durations(es)
        return Fraction(sum(xs), len(xs)) if xs else None
    return value_of(metric, es)


def _device(agent: str | None) -> str:
    text = (agent or "").lower()
    if not text:
        return "unknown"
    if "mobile" in text:
        return "mobile"
    return "tablet" if "tablet" in text or "ipad" in text else "desktop"


def _source(e: Event, kind: str, field: str) -> str | None:
    if e.type.startswith(kind + "_"):
        return str(e.data[field])
    if e.type.startswith("message_") and e.data.get("sourceType") == kind:
        return e.data.get("sourceId") or None
    return None


def dimension_of(name: str, e: Event, tz: ZoneInfo) -> Any:
    message = e.type.startswith("message_")
    local = e.at.astimezone(tz)
    match name.split(":")[0]:
        case "time":
            return utc_text(bucket_of(e.at, tz, name.split(":")[1]))
        case "hourOfDay":
            return local.hour
        case "dayOfWeek":
            return WEEKDAYS[local.weekday()]
        case "channel":
            return e.data.get("channel") if message or e.type.startswith("campaign_") else None
        case "provider":
            return (e.data.get("provider") or "unknown") if message else None
        case "campaign":
            return _campaign_of(e) or None
        case "template":
            return e.data.get("templateId") or None if message else None
        case "workflow":
            return _source(e, "workflow", "workflowId")
        case "sequence":
            return _source(e, "sequence", "sequenceId")
        case "eventType":
            return e.type
        case "errorCode":
            return e.data.get("errorCode") or None if message else None
        case "bounceType":
            return (e.data.get("bounceType") or "unknown") if e.type == "message_bounced" else None
        case "country":
            return ((e.data.get("geo") or {}).get("country") or None) if message else None
        case "device":
            return _device(e.data.get("userAgent")) if e.type in (
                "message_opened", "message_clicked") else None
        case _:
            return e.data.get("url") or None if message else None


def _sort_key(dimension: str, value: Any) -> tuple[bool, Any]:
    if dimension == "dayOfWeek" and value is not None:
        return True, WEEKDAYS.index(value)
    return value is not None, value


class ReportOracle:
    def __init__(self, events: list[Event], names: Callable[[str, str], str | None]) -> None:
        self.events = events
        self.names = names  # (kind, id) -> latest name

    def _kept(self, e: Event, filters: Iterable[Sequence[Any]], tz: ZoneInfo) -> bool:
        for op, dim, values in filters:
            value = dimension_of(dim, e, tz)
            if op == "contains":
                name = self.names(dim, value) if value and dim in ENTITY else None
                texts = [t.lower() for t in (value, name) if isinstance(t, str)]
                if not any(values.lower() in t for t in texts):
                    return False
            elif (value in values) != (op == "is"):
                return False
        return True

    def answer(self, tenant: str, body: Mapping[str, Any], start: datetime, end: datetime,
               tz: ZoneInfo) -> dict[str, Any]:
        metrics, dims = body["metrics"], body.get("dimensions", [])
        mine = [e for e in self.events if e.tenant == tenant and start <= e.at < end
                and any(counts(m, e) for m in metrics)
                and self._kept(e, body.get("filters", []), tz)]
        groups: dict[tuple[Any, ...], list[Event]] = defaultdict(list)
        for e in mine:
            groups[tuple(dimension_of(d, e, tz) for d in dims)].append(e)
        if dims and all(d.startswith("time:") for d in dims):
            for b in buckets(start, end, tz, dims[0].split(":")[1]):
                groups.setdefault((utc_text(b),), [])
        if not dims:
            groups = {(): mine}
        keys = sorted(groups, key=lambda k: tuple(
            _sort_key(d.split(":")[0], v) for d, v in zip(dims, k, strict=True)))
        for name, direction in reversed(body.get("orderBy", [])):
            def order(k: tuple[Any, ...], name: str = name) -> Any:
                if name in metrics:
                    return exact_of(name, groups[k])
                at = [d.split(":")[0] for d in dims].index(name)
                return _sort_key(name, k[at]) if k[at] is not None else None
            present = [k for k in keys if order(k) is not None]
            present.sort(key=order, reverse=direction == "desc")
            keys = present + [k for k in keys if order(k) is None]
        rows = []
        for k in keys:
            row: list[Any] = []
            for d, v in zip(dims, k, strict=True):
                row.append(v)
                if d in ENTITY:
                    row.append(self.names(d, v) if v else None)
            rows.append(row + [value_of(m, groups[k]) for m in metrics])
        return {"rows": rows, "totals": {m: value_of(m, mine) for m in metrics}}

    def compared(self, tenant: str, body: Mapping[str, Any], start: datetime, end: datetime,
                 tz: ZoneInfo) -> dict[str, Any]:
        """The answer with `compare` (API-REPORTS.md): the rows and totals as without it,
        `comparison{totals, timeRange}` of the previous window (the common rules of API.md,
        as `oracle.previous` reads them) and `change` over the totals."""
        now = self.answer(tenant, body, start, end, tz)
        before_start, before_end = previous(start, end, tz, body["compare"])
        before = self.answer(tenant, body, before_start, before_end, tz)["totals"]
        return {**now, "comparison": {
            "timeRange": {"start": utc_text(before_start), "end": utc_text(before_end)},
            "totals": before}, "change": change(now["totals"], before)}


ENTITY = ("campaign", "template", "workflow", "sequence")
