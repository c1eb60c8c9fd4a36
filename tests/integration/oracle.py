"""An independent reading of `contract/API.md`: expected API answers computed in plain
Python over the contract events themselves (subject + envelope), with zoneinfo.

It shares no code with the service (no SQL, no `chanalytics.query`), so a test that
compares the two checks the rollups, the edge slices and the bucket arithmetic.
Decisions where API.md leaves room (the same ones the service documents):
- entity lists (`topCampaigns`, …) hold the entities the summary counts;
- `worstPerforming` orders by the exact, unrounded open rate;
- rates round half up; `timeRange` prints fractions of a second only when present.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

CHANNELS = ("email", "sms", "whatsapp", "push")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PRESETS = {"1d": 1, "7d": 7, "30d": 30, "90d": 90}
DEFAULT_RANGE = {"overview": "7d", "messages": "7d", "traffic": "7d", "campaigns": "30d",
                 "workflows": "30d", "sequences": "30d", "templates": "30d"}
DEFAULT_GRANULARITY = {"messages": "day", "campaigns": "day", "workflows": "day",
                       "traffic": "hour"}


@dataclass(frozen=True)
class Event:
    type: str
    id: str
    tenant: str
    at: datetime
    data: Mapping[str, Any]


def events_from(pairs: Iterable[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Contract events, each counted once however often it was delivered."""
    seen: dict[str, Event] = {}
    for subject, envelope in pairs:
        if envelope["id"] in seen:
            continue
        stamp = envelope["timestamp"]
        if isinstance(stamp, int):
            at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=stamp)
        else:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        kind = subject.removeprefix("pipeline.").replace(".", "_")
        seen[envelope["id"]] = Event(kind, envelope["id"], envelope["tenantId"], at,
                                     envelope["data"])
    return list(seen.values())


# -- numbers and time ----------------------------------------------------------------

def pct(value: Fraction) -> float:
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def rate(part: int, whole: int) -> float:
    return pct(Fraction(100 * part, whole)) if whole else 0.0


def utc_text(at: datetime) -> str:
    at = at.astimezone(UTC)
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond % 1000:
        text += f".{at.microsecond:06d}"
    elif at.microsecond:
        text += f".{at.microsecond // 1000:03d}"
    return text + "Z"


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def bucket_of(at: datetime, tz: ZoneInfo, granularity: str) -> datetime:
    local = at.astimezone(tz)
    if granularity == "hour":
        return at - timedelta(minutes=local.minute, seconds=local.second,
                              microseconds=local.microsecond)
    day = local.date()
    if granularity == "week":
        day -= timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    return midnight(day, tz)


def buckets(start: datetime, end: datetime, tz: ZoneInfo, granularity: str) -> list[datetime]:
    out = []
    current = bucket_of(start, tz, granularity)
    while current < end:
        out.append(current)
        if granularity == "hour":
            current = bucket_of(current + timedelta(hours=1), tz, "hour")
        else:
            day = current.astimezone(tz).date()
            if granularity == "day":
                day += timedelta(days=1)
            elif granularity == "week":
                day += timedelta(days=7)
            else:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            current = midnight(day, tz)
        if len(out) > 5000:
            break
    return out


def window(query: Mapping[str, str], tz: ZoneInfo, default_range: str,
           now: datetime) -> tuple[datetime, datetime]:
    if "startDate" in query and "endDate" in query:
        return bound(query["startDate"], tz, False), bound(query["endDate"], tz, True)
    days = PRESETS[query.get("timeRange", default_range)]
    today = now.astimezone(tz).date()
    return midnight(today - timedelta(days=days - 1), tz), now


def bound(text: str, tz: ZoneInfo, is_end: bool) -> datetime:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return midnight(day + timedelta(days=1) if is_end else day, tz)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def shown(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant the local clock shows `wall`, or, when the clock skips it, the
    first instant after that (found minute by minute: transitions are on whole minutes)."""
    at = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if at.astimezone(tz).replace(tzinfo=None) == wall:
        return at
    at = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while at.astimezone(tz).replace(tzinfo=None) < wall:
        at += timedelta(minutes=1)
    return at


def previous(start: datetime, end: datetime, tz: ZoneInfo, mode: str) -> tuple[datetime, datetime]:
    """`previous_period`: as long on the local clock, ending at start (a week of local
    dates compares with the seven local dates before it, whatever the clock changes);
    `previous_year`: the same local dates and times a year earlier (29 February -> 28
    February)."""
    if mode == "previous_period":
        def clock(at: datetime) -> datetime:  # a day's first instant reads as midnight
            local = at.astimezone(tz)
            if midnight(local.date(), tz) == at:
                return datetime.combine(local.date(), time(0))
            return local.replace(tzinfo=None)

        wall = clock(start)
        length = clock(end) - wall
        earlier = shown(wall - length, tz)
        if length > timedelta(0) and earlier < start:
            return earlier, start
        # the clock cannot measure it (it reads backwards, or skipped the previous
        # start): the service documents the elapsed time then
        return start - (end - start), start

    def year_before(at: datetime) -> datetime:
        local = at.astimezone(tz)
        try:
            shifted = local.replace(year=local.year - 1)
        except ValueError:
            shifted = local.replace(year=local.year - 1, day=28)
        return shifted.replace(tzinfo=tz).astimezone(UTC)

    return year_before(start), year_before(end)


def change(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, float | None]:
    """Relative change in percent (null from 0), for rates the difference in points."""
    out: dict[str, float | None] = {}
    for key, value in now.items():
        old = before[key]
        if value is None or old is None:  # an average of nothing
            out[key] = None
        elif key.endswith("Rate"):
            out[key] = float(Decimal(str(value)) - Decimal(str(old)))
        elif old == 0:
            out[key] = None
        else:
            out[key] = pct(Fraction(Decimal(str(value)) - Decimal(str(old)))
                           / Fraction(Decimal(str(old))) * 100)
    return out


# -- the contract --------------------------------------------------------------------

class Oracle:
    """Expected `(status, body)` of every analytics endpoint for a list of events."""

    default_range: Mapping[str, str] = DEFAULT_RANGE
    default_granularity: Mapping[str, str] = DEFAULT_GRANULARITY

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def context(self, *args: Any) -> Context:
        return Context(*args)

    def answer(self, endpoint: str, tenant: str, query: Mapping[str, str],
               now: datetime) -> tuple[int, dict[str, Any]]:
        tz = ZoneInfo(query.get("timezone", "UTC"))
        start, end = window(query, tz, self.default_range[endpoint], now)
        granularity = query.get("granularity", self.default_granularity.get(endpoint, "day"))
        series = buckets(start, end, tz, "day" if endpoint == "overview" else granularity)
        if len(series) > 5000:
            return 400, {"field": "granularity", "code": "too_many_buckets"}
        mine = [e for e in self.events if e.tenant == tenant]

        def answer_for(start: datetime, end: datetime) -> dict[str, Any]:
            series = buckets(start, end, tz, "day" if endpoint == "overview" else granularity)
            ctx = self.context(mine, start, end, tz, granularity, series, query)
            data = {"timeRange": {"start": utc_text(start), "end": utc_text(end)}}
            data.update(getattr(ctx, endpoint)())
            return data

        data = answer_for(start, end)
        if "compare" in query:
            before = answer_for(*previous(start, end, tz, query["compare"]))
            data["comparison"] = before
            data["change"] = change(data.get("summary", {}), before.get("summary", {}))
        return 200, {"success": True, "data": data}


def _opened(events: Iterable[Event], kind: str) -> int:
    return len({e.data["messageId"] for e in events if e.type == kind})


def _count(events: Iterable[Event], kind: str) -> int:
    return sum(1 for e in events if e.type == kind)


def _campaign_of(e: Event) -> str:
    if e.type.startswith("campaign_"):
        return str(e.data["campaignId"])
    if e.data.get("sourceType") == "campaign":
        return str(e.data.get("sourceId", ""))
    return ""


@dataclass
class Context:
    events: list[Event]  # the tenant's, all time
    start: datetime
    end: datetime
    tz: ZoneInfo
    granularity: str
    series: list[datetime]
    query: Mapping[str, str]

    @property
    def in_range(self) -> list[Event]:
        return [e for e in self.events if self.start <= e.at < self.end]

    @property
    def limit(self) -> int:
        return int(self.query.get("limit", "10"))

    def messages_in_range(self, keep: Callable[[Event], bool] = lambda e: True) -> list[Event]:
        channel = self.query.get("channel")
        return [e for e in self.in_range if e.type.startswith("message_")
                and (channel is None or e.data["channel"] == channel) and keep(e)]

    def per_bucket(self, events: list[Event]) -> dict[datetime, list[Event]]:
        grouped: dict[datetime, list[Event]] = defaultdict(list)
        for e in events:
            grouped[bucket_of(e.at, self.tz, self.granularity)].append(e)
        return grouped

    def name(self, kind: str, entity_id: str) -> str | None:
        best: tuple[datetime, str] | None = None
        found = None
        for e in self.events:
            if kind == "template":
                ok = e.type.startswith("message_") and e.data.get("templateId") == entity_id
                label = e.data.get("templateName") if ok else None
            else:
                field = {"campaign": "campaignId", "workflow": "workflowId",
                         "sequence": "sequenceId"}[kind]
                ok = e.type.startswith(kind + "_") and e.data.get(field) == entity_id
                label = e.data.get("name") if ok else None
            if label and (best is None or (e.at, e.id) > best):
                best, found = (e.at, e.id), label
        return found

    # -- endpoints ---------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        msgs = self.messages_in_range()
        sent, delivered = _count(msgs, "message_sent"), _count(msgs, "message_delivered")
        opened, clicked = _opened(msgs, "message_opened"), _opened(msgs, "message_clicked")
        by_day: dict[str, Counter[str]] = defaultdict(Counter)
        for e in msgs:
            by_day[e.at.astimezone(self.tz).date().isoformat()][e.type] += 1
        channels = {}
        for ch in CHANNELS:
            sub = [e for e in msgs if e.data["channel"] == ch]
            if sub:
                channels[ch] = {"sent": _count(sub, "message_sent"),
                                "delivered": _count(sub, "message_delivered"),
                                "opened": _opened(sub, "message_opened"),
                                "clicked": _opened(sub, "message_clicked")}
        trend = []
        for b in self.series:
            day = b.astimezone(self.tz).date().isoformat()
            trend.append({"date": day, "sent": by_day[day]["message_sent"],
                          "delivered": by_day[day]["message_delivered"]})
        return {"summary": {"totalMessagesSent": sent, "totalDelivered": delivered,
                            "totalOpened": opened, "totalClicked": clicked,
                            "deliveryRate": rate(delivered, sent),
                            "openRate": rate(opened, delivered),
                            "clickRate": rate(clicked, delivered)},
                "byChannel": channels, "trend": trend}

    def messages(self) -> dict[str, Any]:
        msgs = self.messages_in_range()
        kinds = ("sent", "delivered", "bounced", "complained", "unsubscribed", "failed")
        summary = {k: _count(msgs, f"message_{k}") for k in kinds}
        summary["opened"] = _opened(msgs, "message_opened")
        summary["clicked"] = _opened(msgs, "message_clicked")
        grouped = self.per_bucket(msgs)
        series = [{"timestamp": utc_text(b), "sent": _count(grouped[b], "message_sent"),
                   "delivered": _count(grouped[b], "message_delivered"),
                   "opened": _opened(grouped[b], "message_opened"),
                   "clicked": _opened(grouped[b], "message_clicked")} for b in self.series]
        rows: list[dict[str, Any]] = []
        for ch in CHANNELS:
            sub = [e for e in msgs if e.data["channel"] == ch]
            if not sub:
                continue
            s, d = _count(sub, "message_sent"), _count(sub, "message_delivered")
            o, c = _opened(sub, "message_opened"), _opened(sub, "message_clicked")
            rows.append({"channel": ch, "sent": s, "delivered": d, "opened": o, "clicked": c,
                         "deliveryRate": rate(d, s), "openRate": rate(o, d),
                         "clickRate": rate(c, d)})
        rows.sort(key=lambda r: (-r["sent"], r["channel"]))
        return {"summary": summary, "timeSeries": series, "byChannel": rows}

    def campaigns(self) -> dict[str, Any]:
        wanted = self.query.get("campaignId")

        def chosen(e: Event) -> bool:
            cid = _campaign_of(e)
            return cid != "" and (wanted is None or cid == wanted)

        msgs = self.messages_in_range(chosen)
        lifecycle = [e for e in self.in_range if e.type.startswith("campaign_") and chosen(e)]
        by_campaign: dict[str, list[Event]] = defaultdict(list)
        for e in msgs:
            by_campaign[_campaign_of(e)].append(e)
        ids = set(by_campaign) | {_campaign_of(e) for e in lifecycle
                                  if e.type == "campaign_started"}
        completed = {_campaign_of(e) for e in lifecycle if e.type == "campaign_completed"}
        recipients = {e.data["contactId"] for e in msgs
                      if e.type == "message_sent" and e.data.get("contactId")}
        stats: dict[str, tuple[int, int, int, int]] = {}
        for cid in ids:
            sub = by_campaign.get(cid, [])
            stats[cid] = (_count(sub, "message_sent"), _count(sub, "message_delivered"),
                          _opened(sub, "message_opened"), _opened(sub, "message_clicked"))
        delivering = [s for s in stats.values() if s[1] > 0]

        def mean(index: int) -> float:
            if not delivering:
                return 0.0
            total = sum((Fraction(100 * s[index], s[1]) for s in delivering), Fraction(0))
            return pct(total / len(delivering))

        top = sorted(ids, key=lambda c: (-stats[c][0], c))[: self.limit]
        grouped = self.per_bucket(msgs)
        return {
            "summary": {"totalCampaigns": len(ids), "completedCampaigns": len(completed),
                        "totalRecipients": len(recipients), "avgOpenRate": mean(2),
                        "avgClickRate": mean(3)},
            "topCampaigns": [
                {"campaignId": c, "name": self.name("campaign", c), "sent": stats[c][0],
                 "delivered": stats[c][1], "opened": stats[c][2], "clicked": stats[c][3],
                 "openRate": rate(stats[c][2], stats[c][1]),
                 "clickRate": rate(stats[c][3], stats[c][1])} for c in top],
            "timeSeries": [
                {"timestamp": utc_text(b), "sent": _count(grouped[b], "message_sent"),
                 "delivered": _count(grouped[b], "message_delivered"),
                 "opened": _opened(grouped[b], "message_opened"),
                 "clicked": _opened(grouped[b], "message_clicked")} for b in self.series],
        }

    def workflows(self) -> dict[str, Any]:
        wanted = self.query.get("workflowId")
        runs = [e for e in self.in_range if e.type.startswith("workflow_run_")
                and (wanted is None or e.data["workflowId"] == wanted)]

        def outcome(e: Event) -> str:
            if e.type == "workflow_run_started":
                return "started"
            if e.type == "workflow_run_goal_reached":
                return "goal"
            return str(e.data.get("status", "completed"))

        def tally(events: Iterable[Event]) -> Counter[str]:
            return Counter(outcome(e) for e in events)

        total = tally(runs)
        per: dict[str, list[Event]] = defaultdict(list)
        for e in runs:
            per[e.data["workflowId"]].append(e)
        counts = {w: tally(es) for w, es in per.items()}
        top = sorted(counts, key=lambda w: (-counts[w]["started"], w))[: self.limit]
        grouped = self.per_bucket(runs)
        series = []
        for b in self.series:
            c = tally(grouped[b])
            series.append({"timestamp": utc_text(b), "started": c["started"],
                           "completed": c["completed"], "failed": c["failed"],
                           "goalReached": c["goal"]})
        return {
            "summary": {"totalRuns": total["started"], "completedRuns": total["completed"],
                        "failedRuns": total["failed"], "goalReachedRuns": total["goal"],
                        "avgCompletionRate": rate(total["completed"], total["started"]),
                        "avgConversionRate": rate(total["goal"], total["completed"])},
            "topWorkflows": [
                {"workflowId": w, "name": self.name("workflow", w), "runs": counts[w]["started"],
                 "completedRuns": counts[w]["completed"], "failedRuns": counts[w]["failed"],
                 "goalReachedRuns": counts[w]["goal"],
                 "completionRate": rate(counts[w]["completed"], counts[w]["started"]),
                 "conversionRate": rate(counts[w]["goal"], counts[w]["completed"])}
                for w in top],
            "timeSeries": series,
        }

    def sequences(self) -> dict[str, Any]:
        wanted = self.query.get("sequenceId")

        def chosen(e: Event) -> bool:
            return e.type.startswith("sequence_") and (
                wanted is None or e.data["sequenceId"] == wanted)

        evs = [e for e in self.in_range if chosen(e)]
        replies = [e for e in evs if e.type == "sequence_enrollment_replied"]
        enrolled = _count(evs, "sequence_enrollment_enrolled")
        replied = len({e.data["enrollmentId"] for e in replies})
        # Active at `end`: enrolled before it, and not completed or exited before it.
        started, ended = set(), set()
        for e in self.events:
            if chosen(e) and e.at < self.end:
                key = (e.data["sequenceId"], e.data["enrollmentId"])
                if e.type == "sequence_enrollment_enrolled":
                    started.add(key)
                elif e.type in ("sequence_enrollment_completed", "sequence_enrollment_exited"):
                    ended.add(key)
        steps = sorted({e.data["stepNumber"] for e in evs
                        if e.type in ("sequence_step_executed", "sequence_enrollment_replied")})
        funnel = [{"stepNumber": s,
                   "executed": sum(1 for e in evs if e.type == "sequence_step_executed"
                                   and e.data["stepNumber"] == s),
                   "replied": len({e.data["enrollmentId"] for e in replies
                                   if e.data["stepNumber"] == s})} for s in steps]
        per: dict[str, list[Event]] = defaultdict(list)
        for e in evs:
            per[e.data["sequenceId"]].append(e)

        def enrollments(q: str) -> int:
            return _count(per[q], "sequence_enrollment_enrolled")

        def replied_in(q: str) -> int:
            return len({e.data["enrollmentId"] for e in per[q]
                        if e.type == "sequence_enrollment_replied"})

        top = sorted(per, key=lambda q: (-enrollments(q), q))[: self.limit]
        return {
            "summary": {"totalEnrollments": enrolled, "activeEnrollments": len(started - ended),
                        "completedEnrollments": _count(evs, "sequence_enrollment_completed"),
                        "repliedEnrollments": replied, "avgReplyRate": rate(replied, enrolled)},
            "stepFunnel": funnel,
            "topSequences": [{"sequenceId": q, "name": self.name("sequence", q),
                              "enrollments": enrollments(q), "replied": replied_in(q),
                              "replyRate": rate(replied_in(q), enrollments(q))} for q in top],
        }

    def templates(self) -> dict[str, Any]:
        wanted = self.query.get("templateId")
        msgs = self.messages_in_range(
            lambda e: bool(e.data.get("templateId"))
            and (wanted is None or e.data["templateId"] == wanted))
        per: dict[str, list[Event]] = defaultdict(list)
        for e in msgs:
            per[e.data["templateId"]].append(e)
        rows: dict[str, dict[str, Any]] = {}
        exact: dict[str, Fraction] = {}
        for t, sub in per.items():
            s, d = _count(sub, "message_sent"), _count(sub, "message_delivered")
            o, c = _opened(sub, "message_opened"), _opened(sub, "message_clicked")
            exact[t] = Fraction(100 * o, d) if d else Fraction(0)
            rows[t] = {"templateId": t, "name": self.name("template", t), "usageCount": s,
                       "delivered": d, "opened": o, "clicked": c, "openRate": rate(o, d),
                       "clickRate": rate(c, d)}
        min_usage = int(self.query.get("minUsage", "100"))
        top = sorted(rows, key=lambda t: (-rows[t]["usageCount"], t))[: self.limit]
        worst = sorted((t for t in rows if rows[t]["usageCount"] >= min_usage),
                       key=lambda t: (exact[t], -rows[t]["usageCount"], t))[: self.limit]
        return {"topTemplates": [rows[t] for t in top],
                "worstPerforming": [rows[t] for t in worst]}

    def traffic(self) -> dict[str, Any]:
        sent = self.messages_in_range(lambda e: e.type == "message_sent")
        hours = Counter(e.at.astimezone(self.tz).hour for e in sent)
        days = Counter(e.at.astimezone(self.tz).weekday() for e in sent)
        grouped = self.per_bucket(sent)
        return {
            "peakHours": [{"hour": h, "messageCount": hours[h]} for h in range(24)],
            "byDayOfWeek": [{"day": d, "messageCount": days[i]} for i, d in enumerate(WEEKDAYS)],
            "timeSeries": [{"timestamp": utc_text(b), "messageCount": len(grouped[b])}
                           for b in self.series],
        }
