"""`GET /funnel`, `GET /funnel/workflows` and `GET /cohorts` computed in plain Python from
`contract/API-AUDIENCE.md` over the contract events themselves, without the engine.

Decisions where the contract leaves room (the same ones `docs/api.md` states):
- a message's send is its earliest `message_sent` in the range that passes the filters
  (channel, campaign source, template); its channel is that event's; later steps are the
  message's events of the step's type, whatever they say, at or after the send and at
  most `windowHours` after it (both ends included); a step's first such event counts;
- the first step's conversionRate and overallRate are 100 (0 without messages);
  medianSeconds is the lower median (the ((n - 1) // 2)-th of n sorted) in seconds;
- byChannel lists the channels with a message sent, by messages sent desc, then name;
- a workflow run completes with a `workflow_run_completed` whose status is `completed`
  (absent means completed);
- cohort weeks shown: from the local week holding start to the one holding the range's
  last instant (zeros for a week without new contacts); retention runs to that week and
  counts whole weeks, first sends over all stored time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from oracle import Event, bucket_of, buckets, rate, utc_text, window

MESSAGE_STEPS = ("sent", "delivered", "opened", "clicked")
RUN_STEPS = ("started", "completed", "goal")


def _seconds(ms: int) -> float:
    exact = Fraction(ms, 1000)
    value = Decimal(exact.numerator) / Decimal(exact.denominator)
    return float(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _window_hours(query: Mapping[str, str]) -> int:
    return int(query.get("windowHours", "72"))


def _steps(names: tuple[str, ...], reached: list[list[int | None]]) -> list[dict[str, Any]]:
    """Per step, from each followed item's offsets (ms; None: not in time), the fields."""
    counted: list[list[int]] = []
    alive = list(range(len(reached)))
    for i in range(len(names)):
        if i:
            alive = [k for k in alive if reached[k][i] is not None]
        counted.append([reached[k][i] or 0 for k in alive])
    first = len(counted[0])
    out = []
    for i, name in enumerate(names):
        n = len(counted[i])
        previous = len(counted[i - 1]) if i else n
        median = None
        if i and n:
            median = _seconds(sorted(counted[i])[(n - 1) // 2])
        out.append({"step": name, "messages": n, "conversionRate": rate(n, previous),
                    "overallRate": rate(n, first), "medianSeconds": median})
    return out


def _follow(first: Mapping[str, datetime], later: list[Mapping[str, list[datetime]]],
            reach: timedelta) -> dict[str, list[int | None]]:
    """Per item, [0, then per later step the ms from the first step to its first event in
    [first, first + reach], or None]."""
    out: dict[str, list[int | None]] = {}
    for key, at in first.items():
        row: list[int | None] = [0]
        for times in later:
            inside = [t for t in times.get(key, []) if at <= t <= at + reach]
            row.append(None if not inside else (min(inside) - at) // timedelta(milliseconds=1))
        out[key] = row
    return out


class FunnelOracle:
    def __init__(self, events: list[Event], now: datetime) -> None:
        self.events = events
        self.now = now

    def _of(self, tenant: str) -> list[Event]:
        return [e for e in self.events if e.tenant == tenant]

    def funnel(self, tenant: str, query: Mapping[str, str]) -> dict[str, Any]:
        tz = ZoneInfo(query.get("timezone", "UTC"))
        start, end = window(query, tz, "30d", self.now)
        sends: dict[str, Event] = {}
        for e in self._of(tenant):
            d = e.data
            if e.type != "message_sent" or not start <= e.at < end:
                continue
            if "channel" in query and d["channel"] != query["channel"]:
                continue
            if "campaignId" in query and not (d.get("sourceType") == "campaign"
                                              and d.get("sourceId") == query["campaignId"]):
                continue
            if "templateId" in query and d.get("templateId") != query["templateId"]:
                continue
            mid = d["messageId"]
            if mid not in sends or e.at < sends[mid].at:
                sends[mid] = e
        later: list[dict[str, list[datetime]]] = []
        for step in MESSAGE_STEPS[1:]:
            times: dict[str, list[datetime]] = defaultdict(list)
            for e in self._of(tenant):
                if e.type == f"message_{step}":
                    times[e.data["messageId"]].append(e.at)
            later.append(times)
        reach = timedelta(hours=_window_hours(query))
        followed = _follow({m: e.at for m, e in sends.items()}, later, reach)
        per_channel: dict[str, list[list[int | None]]] = defaultdict(list)
        for mid, row in followed.items():
            per_channel[sends[mid].data["channel"]].append(row)
        channels = sorted(per_channel, key=lambda c: (-len(per_channel[c]), c))
        return {"timeRange": {"start": utc_text(start), "end": utc_text(end)},
                "steps": _steps(MESSAGE_STEPS, list(followed.values())),
                "byChannel": [{"channel": c, "steps": _steps(MESSAGE_STEPS, per_channel[c])}
                              for c in channels]}

    def workflow_funnel(self, tenant: str, query: Mapping[str, str]) -> dict[str, Any]:
        tz = ZoneInfo(query.get("timezone", "UTC"))
        start, end = window(query, tz, "30d", self.now)
        starts: dict[str, datetime] = {}
        completed: dict[str, list[datetime]] = defaultdict(list)
        goals: dict[str, list[datetime]] = defaultdict(list)
        for e in self._of(tenant):
            run = e.data.get("runId")
            if e.type == "workflow_run_started" and start <= e.at < end and (
                    "workflowId" not in query or e.data["workflowId"] == query["workflowId"]):
                starts[run] = min(e.at, starts.get(run, e.at))
            elif e.type == "workflow_run_completed" and (
                    e.data.get("status") or "completed") == "completed":
                completed[run].append(e.at)
            elif e.type == "workflow_run_goal_reached":
                goals[run].append(e.at)
        followed = _follow(starts, [completed, goals], timedelta(hours=_window_hours(query)))
        return {"timeRange": {"start": utc_text(start), "end": utc_text(end)},
                "steps": _steps(RUN_STEPS, list(followed.values()))}

    def cohorts(self, tenant: str, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(status, data): 400 past 26 weeks."""
        tz = ZoneInfo(query.get("timezone", "UTC"))
        start, end = window(query, tz, "90d", self.now)
        weeks = [b.astimezone(tz).date() for b in buckets(start, end, tz, "week")]
        if len(weeks) > 26:
            return 400, {}
        first: dict[str, datetime] = {}
        engaged: dict[str, set[date]] = defaultdict(set)
        for e in self._of(tenant):
            contact = e.data.get("contactId")
            if not contact:
                continue
            if e.type == "message_sent":
                first[contact] = min(e.at, first.get(contact, e.at))
            elif e.type in ("message_opened", "message_clicked"):
                engaged[contact].add(_monday(e.at, tz))
        members: dict[date, list[str]] = defaultdict(list)
        for contact, at in first.items():
            members[_monday(at, tz)].append(contact)
        cohorts = []
        for monday in weeks:
            people = members.get(monday, [])
            retention = []
            for offset in range((weeks[-1] - monday).days // 7 + 1):
                week = monday + timedelta(days=7 * offset)
                n = sum(1 for c in people if week in engaged[c])
                retention.append({"weekOffset": offset, "engagedContacts": n,
                                  "rate": rate(n, len(people))})
            cohorts.append({"week": monday.isoformat(), "contacts": len(people),
                            "retention": retention})
        return 200, {"timeRange": {"start": utc_text(start), "end": utc_text(end)},
                     "cohorts": cohorts}


def _monday(at: datetime, tz: ZoneInfo) -> date:
    return bucket_of(at, tz, "week").astimezone(tz).date()

