"""Believable contract events for `chanalytics run --demo`, benchmarks and tests.

`DemoTraffic` makes whole stories — a campaign on its one channel that sends messages
which are delivered, opened (email also by privacy proxies), clicked, bounced with a
reason; workflow runs; sequence enrollments — as (subject, envelope) pairs exactly as
`docs/events.md` describes them. Story start times follow a daily and weekly rhythm; providers
differ in speed, failures and price; each tenant follows a `Profile` (a busy retailer, a
SaaS product, a delivery app), so tenants differ in channels and in what they run.
Events wait in a `Schedule` until their time has come, so the demo never publishes the
future. Ids come from the generator's random state: a seed repeats them exactly (tests,
benches, and `demofeed`, which seeds each slot of time per data directory so that a
restart of `run --demo` re-creates, and skips, what it already published).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec

Event = tuple[str, dict[str, Any]]


class Provider(NamedTuple):
    name: str
    share: float        # of its channel's messages
    median_ms: float    # send → delivered, log-normal around it
    fails: float        # share of sends that fail at the provider
    cost: tuple[float, float]  # USD per message, uniform in [low, high)


CHANNELS = ("email", "sms", "whatsapp", "push")
PROVIDERS: dict[str, tuple[Provider, ...]] = {
    "email": (Provider("ses", 0.65, 900, 0.005, (0.0001, 0.00012)),
              Provider("sendgrid", 0.35, 2600, 0.012, (0.0006, 0.0009))),
    "sms": (Provider("twilio", 0.6, 2800, 0.015, (0.0079, 0.0083)),
            Provider("vonage", 0.4, 7500, 0.09, (0.0061, 0.0066))),
    "whatsapp": (Provider("meta", 1.0, 1400, 0.02, (0.005, 0.06)),),
    "push": (Provider("fcm", 0.7, 350, 0.01, (0.0, 0.0)),
             Provider("apns", 0.3, 250, 0.004, (0.0, 0.0))),
}
# Per channel: share of delivered messages opened (SMS and push report no opens), share of
# email opens made by a privacy proxy, and clicks (of openers, or of all delivered where
# the channel reports no opens).
OPENS = {"email": 0.34, "sms": 0.0, "whatsapp": 0.62, "push": 0.0}
MACHINE_OPENS = 0.35
CLICKS = {"email": 0.16, "sms": 0.045, "whatsapp": 0.11, "push": 0.07}
BOUNCES = {"email": 0.035, "sms": 0.01, "whatsapp": 0.004, "push": 0.02}
BOUNCE_REASONS = (("hard", "550 5.1.1 user unknown"), ("hard", "550 5.1.10 recipient rejected"),
                  ("soft", "452 4.2.2 mailbox full"), ("soft", "421 4.7.0 try again later"))
FAILURES = ("provider_timeout", "rate_limited", "invalid_number")
CAMPAIGNS = (("Black Friday preview", "email"), ("Winter sale", "email"),
             ("Product digest", "email"), ("Flash sale alert", "sms"),
             ("Delivery update", "whatsapp"), ("App re-engagement", "push"))
WORKFLOWS = ("Onboarding", "Cart recovery", "Win-back", "Trial ending")
SEQUENCES = ("Sales follow-up", "Demo booking", "Renewal reminder")
TEMPLATES = ("Welcome", "Receipt", "Reminder", "Offer", "Newsletter")
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1",
)
PLACES = (("US", "New York"), ("US", "San Francisco"), ("DE", "Berlin"), ("GB", "London"),
          ("IN", "Bengaluru"), ("BR", "São Paulo"), ("FR", "Paris"), ("JP", "Tokyo"))
CONTACTS = 5000


class Profile(NamedTuple):
    """What a tenant does: how busy it is, its channel mix and its mix of stories."""

    name: str
    volume: float                       # relative share of all stories
    channels: tuple[float, ...]         # weights in `CHANNELS` order
    stories: tuple[float, ...]          # weights of `STORY_KINDS`


STORY_KINDS = ("message", "campaign", "workflow", "sequence", "contact")
# Tenants take these in turn: the first tenant is the busy retailer.
PROFILES = (
    Profile("retail", 3.0, (6, 2, 1, 2), (0.55, 0.08, 0.17, 0.15, 0.05)),
    Profile("saas", 1.0, (7, 0, 0, 3), (0.35, 0.03, 0.35, 0.22, 0.05)),
    Profile("delivery", 1.0, (1, 4, 3, 4), (0.6, 0.1, 0.22, 0.0, 0.08)),
)
# Relative activity per UTC hour (quiet nights, a working-day plateau), weekends at 55%.
HOURS = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.7, 0.95, 1.0, 1.0, 0.95,
         0.9, 0.95, 1.0, 1.0, 0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25)
WEEKEND = 0.55


def rhythm(at: datetime) -> float:
    """How busy the platform is at `at`, in (0, 1]."""
    return HOURS[at.hour] * (WEEKEND if at.weekday() >= 5 else 1.0)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")


class DemoTraffic:
    """A generator of contract events for a handful of tenants; seeded for repeatable
    data (tests, benches), fresh ids on every run without a seed."""

    def __init__(self, tenants: list[str], seed: int | None = None) -> None:
        self.tenants = tenants
        self.profiles = {t: PROFILES[i % len(PROFILES)] for i, t in enumerate(tenants)}
        self.rng = random.Random(seed)

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _envelope(self, tenant: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": self._id(), "tenantId": tenant, "timestamp": iso(at), "data": data}

    def _contact(self) -> str:
        return f"contact_{self.rng.randint(1, CONTACTS)}"

    def _channel(self, tenant: str) -> str:
        return self.rng.choices(CHANNELS, weights=self.profiles[tenant].channels)[0]

    def _reader(self) -> dict[str, Any]:
        country, city = self.rng.choice(PLACES)
        return {"userAgent": self.rng.choice(USER_AGENTS),
                "geo": {"country": country, "city": city}}

    def message_story(self, tenant: str, at: datetime, source: tuple[str, str] | None,
                      channel: str | None = None) -> list[Event]:
        rng = self.rng
        channel = channel or self._channel(tenant)
        providers = PROVIDERS[channel]
        provider = rng.choices(providers, weights=[p.share for p in providers])[0]
        template = rng.choice(TEMPLATES)
        base: dict[str, Any] = {
            "messageId": f"msg_{self._id()}", "channel": channel, "contactId": self._contact(),
            "templateId": f"tpl_{channel}_{_slug(template)}",
            "templateName": f"{template} ({channel})", "provider": provider.name,
        }
        if source is not None:
            base["sourceType"], base["sourceId"] = source
        sent: dict[str, Any] = dict(base)
        if provider.cost[1] > 0:
            sent["cost"] = round(rng.uniform(*provider.cost), 6)
        events: list[Event] = [("pipeline.message.sent", self._envelope(tenant, at, sent))]
        if rng.random() < provider.fails:
            events.append(("pipeline.message.failed", self._envelope(
                tenant, at + timedelta(seconds=rng.uniform(0.5, 30)),
                {**base, "errorCode": rng.choice(FAILURES)})))
            return events
        delivered_ms = int(provider.median_ms * math.exp(rng.gauss(0, 0.6)))
        if rng.random() < BOUNCES[channel]:
            bounce, reason = rng.choice(BOUNCE_REASONS)
            events.append(("pipeline.message.bounced", self._envelope(
                tenant, at + timedelta(milliseconds=delivered_ms),
                {**base, "bounceType": bounce, "errorCode": reason})))
            return events
        t = at + timedelta(milliseconds=delivered_ms)
        events.append(("pipeline.message.delivered", self._envelope(
            tenant, t, {**base, "durationMs": delivered_ms})))
        opened = rng.random() < OPENS[channel]
        if opened:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                t += timedelta(minutes=rng.expovariate(1 / 90))
                machine = channel == "email" and rng.random() < MACHINE_OPENS
                data = {**base, "machineOpen": True} if machine else {**base, **self._reader()}
                events.append(("pipeline.message.opened", self._envelope(tenant, t, data)))
        if (opened or OPENS[channel] == 0) and rng.random() < CLICKS[channel]:
            t += timedelta(seconds=rng.randint(5, 300))
            events.append(("pipeline.message.clicked", self._envelope(
                tenant, t, {**base, **self._reader(), "url": "https://example.com/offer"})))
        if channel == "email" and rng.random() < 0.002:
            events.append(("pipeline.message.complained", self._envelope(tenant, t, base)))
        if rng.random() < 0.005:
            events.append(("pipeline.message.unsubscribed", self._envelope(tenant, t, base)))
        return events

    def campaign_story(self, tenant: str, at: datetime, size: int) -> list[Event]:
        channel = self._channel(tenant)
        name = self.rng.choice([n for n, c in CAMPAIGNS if c == channel])
        data = {"campaignId": f"cmp_{_slug(name)}", "name": name}
        events: list[Event] = [("campaign.started", self._envelope(
            tenant, at, {**data, "recipientCount": size}))]
        for i in range(size):
            events += self.message_story(tenant, at + timedelta(seconds=i * 2),
                                         ("campaign", data["campaignId"]), channel)
        events.append(("campaign.completed", self._envelope(
            tenant, at + timedelta(seconds=size * 2 + 1), data)))
        return events

    def workflow_story(self, tenant: str, at: datetime) -> list[Event]:
        rng = self.rng
        name = rng.choice(WORKFLOWS)
        data = {"workflowId": f"wf_{_slug(name)}", "runId": f"run_{self._id()}",
                "name": name, "contactId": self._contact()}
        events: list[Event] = [("workflow.run.started", self._envelope(tenant, at, data))]
        events += self.message_story(tenant, at + timedelta(seconds=1),
                                     ("workflow", data["workflowId"]))
        if rng.random() < 0.85:
            status = "completed" if rng.random() < 0.9 else "failed"
            done = at + timedelta(minutes=rng.randint(1, 120))
            events.append(("workflow.run.completed", self._envelope(
                tenant, done, {**data, "status": status})))
            if status == "completed" and rng.random() < 0.4:
                events.append(("workflow.run.goal_reached", self._envelope(
                    tenant, done + timedelta(seconds=1), data)))
        return events

    def sequence_story(self, tenant: str, at: datetime) -> list[Event]:
        rng = self.rng
        name = rng.choice(SEQUENCES)
        data = {"sequenceId": f"seq_{_slug(name)}", "enrollmentId": f"enr_{self._id()}",
                "name": name, "contactId": self._contact()}
        events: list[Event] = [("sequence.enrollment.enrolled", self._envelope(tenant, at, data))]
        t = at
        for step in range(1, rng.randint(2, 4)):
            t += timedelta(hours=rng.uniform(1, 8))
            events.append(("sequence.step.executed", self._envelope(
                tenant, t, {**data, "stepNumber": step})))
            if rng.random() < 0.15:
                events.append(("sequence.enrollment.replied", self._envelope(
                    tenant, t + timedelta(minutes=rng.randint(5, 240)),
                    {**data, "stepNumber": step})))
                break
        end = rng.choice(["sequence.enrollment.completed", "sequence.enrollment.exited", None])
        if end:
            events.append((end, self._envelope(tenant, t + timedelta(hours=1), data)))
        return events

    def story(self, at: datetime) -> list[Event]:
        """One story for a tenant drawn by volume, of a kind drawn from its profile."""
        rng = self.rng
        tenant = rng.choices(self.tenants, weights=[self.profiles[t].volume
                                                     for t in self.tenants])[0]
        kind = rng.choices(STORY_KINDS, weights=self.profiles[tenant].stories)[0]
        if kind == "message":
            return self.message_story(tenant, at, None)
        if kind == "campaign":
            return self.campaign_story(tenant, at, rng.randint(5, 30))
        if kind == "workflow":
            return self.workflow_story(tenant, at)
        if kind == "sequence":
            return self.sequence_story(tenant, at)
        return [("contact.created", self._envelope(
            tenant, at, {"contactId": self._contact(), "source": "import"}))]

    def stories(self, start: datetime, end: datetime, count: int) -> Iterator[Event]:
        """The events of `count` stories started in [start, end), busier by `rhythm`."""
        span = (end - start).total_seconds()
        made = 0
        while made < count:
            at = start + timedelta(seconds=self.rng.uniform(0, span))
            if self.rng.random() < rhythm(at):
                made += 1
                yield from self.story(at)

    def arrivals(self, rate_per_minute: float, at: datetime, seconds: float) -> int:
        """How many stories start in `seconds` after `at` (Poisson, by `rhythm`)."""
        mean = rate_per_minute / 60 * seconds * rhythm(at) / _MEAN_RHYTHM
        count, limit, product = 0, math.exp(-mean), self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count


_MEAN_RHYTHM = sum(HOURS) / 24 * (5 + 2 * WEEKEND) / 7


class Schedule:
    """Events of started stories, released only once their timestamp has passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[str, int, Event]] = []
        self._added = 0

    def add(self, events: Iterable[Event]) -> None:
        for event in events:  # same-format ISO strings (ms, Z) sort by time
            heapq.heappush(self._heap, (event[1]["timestamp"], self._added, event))
            self._added += 1

    def due(self, now: datetime) -> Iterator[Event]:
        """Remove and yield, in time order, every event at or before `now`."""
        cutoff = iso(now)
        while self._heap and self._heap[0][0] <= cutoff:
            yield heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


class Published(NamedTuple):
    events: int
    last_seq: int  # the newest stream sequence acknowledged (0: none, or no sequence given)


async def publish(js: Any, events: Iterable[Event], *, window: int = 256) -> Published:
    """Publish events to JetStream with `Nats-Msg-Id`, `window` confirmations in flight."""
    encode = msgspec.json.encode
    pending: list[asyncio.Future[Any]] = []
    sent = last_seq = 0
    try:
        for subject, envelope in events:
            pending.append(asyncio.ensure_future(js.publish(
                subject, encode(envelope), headers={"Nats-Msg-Id": envelope["id"]})))
            sent += 1
            if len(pending) >= window:
                acks = await asyncio.gather(*pending)
                last_seq = max([last_seq, *(getattr(a, "seq", 0) for a in acks)])
                pending.clear()
        acks = await asyncio.gather(*pending)
        last_seq = max([last_seq, *(getattr(a, "seq", 0) for a in acks)])
        pending.clear()
    finally:
        for future in pending:
            future.cancel()
    return Published(sent, last_seq)


async def backfill(js: Any, traffic: DemoTraffic, schedule: Schedule, now: datetime, *,
                   rate_per_minute: float, days: float) -> int:
    """Publish `days` of history before `now` at the live rate and rhythm, an hour of
    stories at a time; what lies after `now` stays in `schedule`. (One generator for the
    whole span: for seeded data sets; `run --demo` uses `demofeed`.)"""
    sent = 0
    at = now - timedelta(days=days)
    while at < now:
        seconds = min(3600.0, (now - at).total_seconds())
        for _ in range(traffic.arrivals(rate_per_minute, at, seconds)):
            schedule.add(traffic.story(at + timedelta(seconds=traffic.rng.uniform(0, seconds))))
        at += timedelta(seconds=seconds)
        sent += (await publish(js, schedule.due(min(at, now)))).events
    return sent
