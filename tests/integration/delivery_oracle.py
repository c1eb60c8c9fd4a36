"""An independent reading of `contract/API-DELIVERY.md`, in plain Python like `oracle.py`.

Percentiles may come from a sketch, so the expected value of a percentile is an `Near`:
equal to any number the contract's tolerance rule allows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from oracle import (
    DEFAULT_GRANULARITY,
    DEFAULT_RANGE,
    Context,
    Event,
    Oracle,
    midnight,
    rate,
    utc_text,
)


class Near:
    """A percentile `p` of `samples`: any v with 0.99 * x[floor(r)] <= v <= 1.01 * x[ceil(r)],
    r = p * (n - 1), rounded to 1 decimal (so half a tenth of slack each side)."""

    def __init__(self, p: float, samples: list[int]) -> None:
        xs = sorted(samples)
        r = p * (len(xs) - 1)
        self.low = 0.99 * xs[math.floor(r)] - 0.05
        self.high = 1.01 * xs[math.ceil(r)] + 0.05

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int | float) and self.low <= other <= self.high

    def __repr__(self) -> str:
        return f"Near({self.low:.2f}..{self.high:.2f})"

    __hash__ = None  # type: ignore[assignment]


def round_to(value: Fraction | Decimal, places: int) -> float:
    exact = (Decimal(value.numerator) / Decimal(value.denominator)
             if isinstance(value, Fraction) else value)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def provider_of(e: Event) -> str:
    return str(e.data.get("provider") or "unknown")


def durations(events: Iterable[Event]) -> list[int]:
    return [int(e.data["durationMs"]) for e in events
            if e.type == "message_delivered" and e.data.get("durationMs") is not None]


def latency(events: Iterable[Event]) -> dict[str, Any]:
    xs = durations(events)
    if not xs:
        return {"samples": 0, "avgMs": None, "p50Ms": None, "p95Ms": None, "p99Ms": None}
    return {"samples": len(xs), "avgMs": round_to(Fraction(sum(xs), len(xs)), 1),
            "p50Ms": Near(0.5, xs), "p95Ms": Near(0.95, xs), "p99Ms": Near(0.99, xs)}


def costs(events: Iterable[Event]) -> tuple[Decimal, int, int]:
    """Total cost, sent events, sent events with a cost."""
    sent = [e for e in events if e.type == "message_sent"]
    costed = [Decimal(str(e.data["cost"])) for e in sent if e.data.get("cost") is not None]
    return sum(costed, Decimal(0)), len(sent), len(costed)


def cost_of(events: Iterable[Event]) -> dict[str, Any]:
    total, _, costed = costs(events)
    return {"total": round_to(total, 4),
            "avgCostPerMessage": round_to(total / costed, 6) if costed else None}


def count(events: Iterable[Event], kind: str) -> int:
    return sum(1 for e in events if e.type == kind)


SUPPRESSING = {"message_complained": "complaint", "message_unsubscribed": "unsubscribe"}


def suppressions(events: Iterable[Event], until: datetime | None = None) -> list[dict[str, Any]]:
    """Every suppressed (contact, channel) of the events (those before `until`): its earliest
    suppressing event, in the contract's order."""
    first: dict[tuple[str, str], tuple[datetime, str, str, str]] = {}
    for e in events:
        if (until is not None and e.at >= until) or not e.data.get("contactId"):
            continue
        if e.type == "message_bounced" and e.data.get("bounceType") == "hard":
            reason = "hard_bounce"
        elif e.type in SUPPRESSING:
            reason = SUPPRESSING[e.type]
        else:
            continue
        key = (e.data["contactId"], e.data["channel"])
        candidate = (e.at, e.id, reason, e.data["messageId"])
        if key not in first or candidate[:2] < first[key][:2]:
            first[key] = candidate
    items = [{"contactId": contact, "channel": channel, "reason": reason,
              "since": utc_text(at), "messageId": message, "_at": at}
             for (contact, channel), (at, _, reason, message) in first.items()]
    items.sort(key=lambda i: (-i["_at"].timestamp(), i["contactId"], i["channel"]))
    for item in items:
        del item["_at"]
    return items


class DeliveryContext(Context):
    now: datetime
    budget: tuple[Decimal, str] | None = None  # the tenant's (monthlyBudget, timezone)

    def delivery_messages(self) -> list[Event]:
        wanted = self.query.get("provider")
        return self.messages_in_range(lambda e: wanted is None or provider_of(e) == wanted)

    def channels(self) -> dict[str, Any]:
        msgs = self.delivery_messages()

        def outcome(sub: list[Event]) -> dict[str, Any]:
            s = count(sub, "message_sent")
            d, f = count(sub, "message_delivered"), count(sub, "message_failed")
            return {"sent": s, "delivered": d, "failed": f,
                    "bounced": count(sub, "message_bounced"),
                    "deliveryRate": rate(d, s), "failureRate": rate(f, s)}

        per_channel: dict[str, list[Event]] = defaultdict(list)
        per_provider: dict[tuple[str, str], list[Event]] = defaultdict(list)
        for e in msgs:
            per_channel[e.data["channel"]].append(e)
            per_provider[(e.data["channel"], provider_of(e))].append(e)
        by_channel = []
        for ch, sub in per_channel.items():
            row = {"channel": ch, **outcome(sub)}
            row["bounceRate"] = rate(row["bounced"], row["sent"])
            row |= {"latency": latency(sub), "cost": cost_of(sub)}
            by_channel.append(row)
        by_channel.sort(key=lambda r: (-r["sent"], r["channel"]))
        providers = []
        for (ch, name), sub in per_provider.items():
            row = {"channel": ch, "provider": name, **outcome(sub), "latency": latency(sub),
                   "cost": cost_of(sub)}
            exact = self.score(sub)
            providers.append((-exact, ch, name, {**row, "score": round_to(exact, 2)}))
        providers.sort(key=lambda t: t[:3])
        errors = Counter((e.data["channel"], provider_of(e), e.data["errorCode"]) for e in msgs
                         if e.type in ("message_failed", "message_bounced")
                         and e.data.get("errorCode"))
        ranked = sorted(errors.items(), key=lambda kv: (-kv[1], *kv[0]))[: self.limit]
        grouped = self.per_bucket(msgs)
        series = []
        for b in self.series:
            sub = grouped[b]
            xs = durations(sub)
            series.append({"timestamp": utc_text(b), "sent": count(sub, "message_sent"),
                           "delivered": count(sub, "message_delivered"),
                           "failed": count(sub, "message_failed"),
                           "p95Ms": Near(0.95, xs) if xs else None})
        return {
            "byChannel": by_channel,
            "providers": [row for *_, row in providers],
            "errors": [{"channel": c, "provider": p, "errorCode": code, "count": n}
                       for (c, p, code), n in ranked],
            "timeSeries": series,
        }

    def deliverability(self) -> dict[str, Any]:
        msgs = self.messages_in_range()

        def numbers(sub: list[Event]) -> dict[str, Any]:
            bounced = [e for e in sub if e.type == "message_bounced"]
            s, d = count(sub, "message_sent"), count(sub, "message_delivered")
            hard = sum(1 for e in bounced if e.data.get("bounceType") == "hard")
            soft = sum(1 for e in bounced if e.data.get("bounceType") == "soft")
            f, c = count(sub, "message_failed"), count(sub, "message_complained")
            u = count(sub, "message_unsubscribed")
            return {"sent": s, "delivered": d, "failed": f, "bounced": len(bounced),
                    "hardBounced": hard, "softBounced": soft, "complained": c,
                    "unsubscribed": u, "deliveryRate": rate(d, s), "failureRate": rate(f, s),
                    "bounceRate": rate(len(bounced), s), "hardBounceRate": rate(hard, s),
                    "complaintRate": rate(c, d), "unsubscribeRate": rate(u, d)}

        per_channel: dict[str, list[Event]] = defaultdict(list)
        for e in msgs:
            per_channel[e.data["channel"]].append(e)
        rows = [{"channel": ch, **numbers(sub)} for ch, sub in per_channel.items()]
        rows.sort(key=lambda r: (-r["sent"], r["channel"]))
        reasons = Counter((e.data.get("bounceType") or "unknown", e.data.get("errorCode") or None)
                          for e in msgs if e.type == "message_bounced")
        ranked = sorted(reasons.items(),
                        key=lambda kv: (-kv[1], kv[0][0], kv[0][1] is not None, kv[0][1] or ""))
        channel = self.query.get("channel")
        suppressed = {item["contactId"] for item in suppressions(self.events, self.end)
                      if channel is None or item["channel"] == channel}
        grouped = self.per_bucket(msgs)
        return {
            "summary": {**numbers(msgs), "suppressedContacts": len(suppressed)},
            "byChannel": rows,
            "bounceReasons": [{"bounceType": kind, "errorCode": code, "count": n}
                              for (kind, code), n in ranked[: self.limit]],
            "timeSeries": [{"timestamp": utc_text(b),
                            "bounced": count(grouped[b], "message_bounced"),
                            "complained": count(grouped[b], "message_complained"),
                            "unsubscribed": count(grouped[b], "message_unsubscribed"),
                            "failed": count(grouped[b], "message_failed")} for b in self.series],
        }

    def costs(self) -> dict[str, Any]:
        msgs = self.delivery_messages()

        def spend(sub: list[Event]) -> dict[str, Any]:
            total, sent, costed = costs(sub)
            return {"totalCost": round_to(total, 4), "messages": sent,
                    "avgCostPerMessage": round_to(total / costed, 6) if costed else None}

        def ranked(groups: Mapping[Any, list[Event]], names: tuple[str, ...]) -> list[Any]:
            rows = []
            for key, sub in groups.items():
                total, sent, _ = costs(sub)
                if sent:
                    keys = key if isinstance(key, tuple) else (key,)
                    rows.append(((-total, *keys), {**dict(zip(names, keys, strict=True)),
                                                   **spend(sub)}))
            return [row for _, row in sorted(rows, key=lambda r: r[0])]

        per_channel: dict[str, list[Event]] = defaultdict(list)
        per_provider: dict[tuple[str, str], list[Event]] = defaultdict(list)
        per_campaign: dict[str, list[Event]] = defaultdict(list)
        for e in msgs:
            per_channel[e.data["channel"]].append(e)
            per_provider[(e.data["channel"], provider_of(e))].append(e)
            if e.data.get("sourceType") == "campaign" and e.data.get("sourceId"):
                per_campaign[e.data["sourceId"]].append(e)
        total, sent, costed = costs(msgs)
        campaigns = ranked(per_campaign, ("campaignId",))[: self.limit]
        for row in campaigns:
            row["name"] = self.name("campaign", row["campaignId"])
        grouped = self.per_bucket(msgs)
        return {
            "summary": {"totalCost": round_to(total, 4), "messages": sent,
                        "costedMessages": costed,
                        "avgCostPerMessage": round_to(total / costed, 6) if costed else None},
            "byChannel": ranked(per_channel, ("channel",)),
            "byProvider": ranked(per_provider, ("channel", "provider")),
            "topCampaigns": [{"campaignId": r["campaignId"], "name": r["name"],
                              **{k: r[k] for k in ("totalCost", "messages", "avgCostPerMessage")}}
                             for r in campaigns],
            "timeSeries": [{"timestamp": utc_text(b), "totalCost": spend(grouped[b])["totalCost"],
                            "messages": spend(grouped[b])["messages"]} for b in self.series],
            "budget": self.budget_state(),
        }

    def budget_state(self) -> dict[str, Any] | None:
        if self.budget is None:
            return None
        amount, zone = self.budget
        tz = ZoneInfo(zone)
        local = self.now.astimezone(tz).date()
        first = local.replace(day=1)
        start = midnight(first, tz)
        end = midnight((first + timedelta(days=32)).replace(day=1), tz)
        spent, _, _ = costs(e for e in self.events
                            if e.type == "message_sent" and start <= e.at < self.now)
        used = Fraction(spent) * 100 / Fraction(amount)
        elapsed = Fraction(round((self.now - start).total_seconds() * 10**6),
                           round((end - start).total_seconds() * 10**6))
        return {"monthlyBudget": float(amount), "month": f"{first:%Y-%m}",
                "spent": round_to(spent, 4), "percentUsed": round_to(used, 2),
                "projectedSpend": round_to(Fraction(spent) / elapsed, 4),
                "status": ("exceeded" if used >= 100 else "90%" if used >= 90
                           else "75%" if used >= 75 else "ok")}

    @staticmethod
    def score(sub: list[Event]) -> Fraction:
        s = count(sub, "message_sent")
        delivery = Fraction(100 * count(sub, "message_delivered"), s) if s else Fraction(0)
        failure = Fraction(100 * count(sub, "message_failed"), s) if s else Fraction(0)
        xs = durations(sub)
        speed = max(Fraction(0), 100 - Fraction(sum(xs), len(xs)) / 1000) if xs else Fraction(0)
        total, _, costed = costs(sub)
        price = (max(Fraction(0), 100 - Fraction(total) / costed * 10000) if costed
                 else Fraction(0))
        return (Fraction(4, 10) * delivery + Fraction(3, 10) * speed + Fraction(2, 10) * price
                + Fraction(1, 10) * (100 - failure))


class DeliveryOracle(Oracle):
    default_range: Mapping[str, str] = {**DEFAULT_RANGE, "channels": "30d",
                                        "deliverability": "30d", "costs": "30d"}
    default_granularity: Mapping[str, str] = {**DEFAULT_GRANULARITY, "channels": "day",
                                              "deliverability": "day", "costs": "day"}

    def __init__(self, events: list[Event],
                 budgets: Mapping[str, tuple[Decimal, str]] | None = None) -> None:
        super().__init__(events)
        self.budgets = dict(budgets or {})
        self.now = datetime.now(UTC)

    def answer(self, endpoint: str, tenant: str, query: Mapping[str, str],
               now: datetime) -> tuple[int, dict[str, Any]]:
        self.now, self.tenant = now, tenant
        return super().answer(endpoint, tenant, query, now)

    def context(self, *args: Any) -> Context:
        ctx = DeliveryContext(*args)
        ctx.now, ctx.budget = self.now, self.budgets.get(self.tenant)
        return ctx
