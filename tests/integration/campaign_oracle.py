"""`GET /campaigns/{campaignId}` and `GET /campaigns/compare` computed in plain Python from
`contract/API-AUDIENCE.md` over the contract events themselves, without the engine.

Decisions where the contract leaves room (the same ones `docs/api.md` states):
- `devices[].opens` and `geo[].opens` count opened events (not distinct messages);
- `byChannel` lists the channels with at least one of the campaign's message events in
  the range;
- an empty `url`, `userAgent`, `geo.country` or `geo.city` counts as absent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from oracle import Event, bucket_of, buckets, rate, utc_text, window

DEVICES = ("mobile", "tablet", "desktop", "unknown")


def _round(value: Fraction | Decimal, places: int) -> float:
    exact = (Decimal(value.numerator) / Decimal(value.denominator)
             if isinstance(value, Fraction) else value)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def campaign_of(e: Event) -> str | None:
    """The campaign an event names: its own id, or a message's campaign source."""
    if e.type.startswith("campaign_"):
        return str(e.data["campaignId"])
    if e.type.startswith("message_") and e.data.get("sourceType") == "campaign":
        return e.data.get("sourceId") or None
    return None


def _messages(e: Iterable[Event], kind: str) -> set[str]:
    return {x.data["messageId"] for x in e if x.type == f"message_{kind}"}


def _contacts(e: Iterable[Event], kind: str) -> set[str]:
    return {x.data["contactId"] for x in e
            if x.type == f"message_{kind}" and x.data.get("contactId")}


def _of(e: Iterable[Event], kind: str) -> list[Event]:
    return [x for x in e if x.type == f"message_{kind}"]


def _cost(e: Iterable[Event]) -> float:
    total = sum((Decimal(str(x.data["cost"])) for x in _of(e, "sent")
                 if x.data.get("cost") is not None), Decimal(0))
    return _round(total, 4)


def overview(msgs: list[Event]) -> dict[str, Any]:
    sent, delivered = len(_of(msgs, "sent")), len(_of(msgs, "delivered"))
    opened, clicked = len(_messages(msgs, "opened")), len(_messages(msgs, "clicked"))
    human = len({x.data["messageId"] for x in _of(msgs, "opened")
                 if x.data.get("machineOpen") is not True})
    durations = [int(x.data["durationMs"]) for x in _of(msgs, "delivered")
                 if x.data.get("durationMs") is not None]
    return {
        "sent": sent, "delivered": delivered, "failed": len(_of(msgs, "failed")),
        "bounced": len(_of(msgs, "bounced")), "opened": opened, "clicked": clicked,
        "humanOpened": human, "uniqueRecipients": len(_contacts(msgs, "sent")),
        "uniqueOpeners": len(_contacts(msgs, "opened")),
        "uniqueClickers": len(_contacts(msgs, "clicked")),
        "deliveryRate": rate(delivered, sent), "openRate": rate(opened, delivered),
        "humanOpenRate": rate(human, delivered), "clickRate": rate(clicked, delivered),
        "clickToOpenRate": rate(clicked, opened), "totalCost": _cost(msgs),
        "avgDeliveryMs": _round(Fraction(sum(durations), len(durations)), 1)
        if durations else None,
    }


def device_of(e: Event) -> str:
    agent = (e.data.get("userAgent") or "").lower()
    if not agent:
        return "unknown"
    if "mobile" in agent:
        return "mobile"
    if "tablet" in agent or "ipad" in agent:
        return "tablet"
    return "desktop"


def _name(mine: list[Event], campaign_id: str) -> str | None:
    best: tuple[datetime, str] | None = None
    found = None
    for e in mine:
        if e.type.startswith("campaign_") and e.data["campaignId"] == campaign_id and e.data.get(
                "name") and (best is None or (e.at, e.id) > best):
            best, found = (e.at, e.id), e.data["name"]
    return found


class CampaignOracle:
    def __init__(self, events: list[Event], now: datetime) -> None:
        self.events = events
        self.now = now

    def _scope(self, tenant: str, query: Mapping[str, str]) -> tuple[
            list[Event], datetime, datetime, ZoneInfo]:
        tz = ZoneInfo(query.get("timezone", "UTC"))
        start, end = window(query, tz, "90d", self.now)
        return [e for e in self.events if e.tenant == tenant], start, end, tz

    def _in_range(self, mine: list[Event], campaign_id: str, start: datetime, end: datetime,
                  channel: str | None) -> list[Event]:
        return [e for e in mine if e.type.startswith("message_")
                and campaign_of(e) == campaign_id and start <= e.at < end
                and (channel is None or e.data["channel"] == channel)]

    def campaign(self, tenant: str, campaign_id: str,
                 query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        mine, start, end, tz = self._scope(tenant, query)
        if not any(campaign_of(e) == campaign_id for e in mine):
            return 404, {"code": "not_found"}
        msgs = self._in_range(mine, campaign_id, start, end, query.get("channel"))
        own = [e for e in mine if e.type.startswith("campaign_")
               and e.data["campaignId"] == campaign_id]
        starts = [e.at for e in own if e.type == "campaign_started"]
        ends = [e.at for e in own if e.type == "campaign_completed"]
        granularity = query.get("granularity", "hour")
        per_bucket: dict[datetime, list[Event]] = defaultdict(list)
        for e in msgs:
            per_bucket[bucket_of(e.at, tz, granularity)].append(e)
        channels: dict[str, list[Event]] = defaultdict(list)
        for e in msgs:
            channels[e.data["channel"]].append(e)
        clicks = [e for e in _of(msgs, "clicked") if e.data.get("url")]
        links = [{"url": url, "clicks": sum(1 for e in clicks if e.data["url"] == url),
                  "uniqueClicks": len({e.data["messageId"] for e in clicks
                                       if e.data["url"] == url})}
                 for url in {e.data["url"] for e in clicks}]
        links.sort(key=lambda r: (-r["clicks"], r["url"]))
        opens = _of(msgs, "opened")
        devices = Counter(device_of(e) for e in opens)
        places = Counter(((e.data.get("geo") or {}).get("country"),
                          (e.data.get("geo") or {}).get("city") or None) for e in opens)
        geo = [{"country": country, "city": city, "opens": n}
               for (country, city), n in places.items() if country]
        geo.sort(key=lambda r: (-r["opens"], r["country"], r["city"] is not None,
                                r["city"] or ""))
        return 200, {
            "timeRange": {"start": utc_text(start), "end": utc_text(end)},
            "campaign": {"campaignId": campaign_id, "name": _name(mine, campaign_id),
                         "startedAt": utc_text(min(starts)) if starts else None,
                         "completedAt": utc_text(max(ends)) if ends else None},
            "overview": overview(msgs),
            "byChannel": sorted(({"channel": ch, "sent": len(_of(es, "sent")),
                                  "delivered": len(_of(es, "delivered")),
                                  "failed": len(_of(es, "failed")), "totalCost": _cost(es)}
                                 for ch, es in channels.items()),
                                key=lambda r: (-r["sent"], r["channel"])),
            "timeSeries": [{"timestamp": utc_text(b), "sent": len(_of(per_bucket[b], "sent")),
                            "delivered": len(_of(per_bucket[b], "delivered")),
                            "opened": len(_messages(per_bucket[b], "opened")),
                            "clicked": len(_messages(per_bucket[b], "clicked"))}
                           for b in buckets(start, end, tz, granularity)],
            "topLinks": links[:int(query.get("limit", "10"))],
            "devices": [{"device": d, "opens": devices[d]} for d in DEVICES],
            "geo": geo[:20],
        }

    def compare(self, tenant: str, ids: list[str],
                query: Mapping[str, str]) -> dict[str, Any]:
        mine, start, end, _ = self._scope(tenant, query)
        return {
            "timeRange": {"start": utc_text(start), "end": utc_text(end)},
            "campaigns": [{"campaignId": c, "name": _name(mine, c), **overview(
                self._in_range(mine, c, start, end, query.get("channel")))} for c in ids],
        }
