"""Realistic contract events for `chanalytics run --demo`, benchmarks and tests.

`DemoTraffic` makes whole stories — a campaign that sends messages which are delivered,
opened (sometimes several times) and clicked; workflow runs; sequence enrollments —
as (subject, envelope) pairs exactly as EVENTS.md describes them.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import structlog

log = structlog.get_logger(__name__)

CHANNELS = ("email", "sms", "whatsapp", "push")
PROVIDERS = {"email": "ses", "sms": "twilio", "whatsapp": "meta", "push": "fcm"}
Event = tuple[str, dict[str, Any]]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoTraffic:
    """A seeded generator of contract events for a handful of tenants."""

    def __init__(self, tenants: list[str], seed: int = 7) -> None:
        self.tenants = tenants
        self.rng = random.Random(seed)

    def _envelope(self, tenant: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return {"id": event_id, "tenantId": tenant, "timestamp": _iso(at), "data": data}

    def message_story(
        self, tenant: str, at: datetime, source: tuple[str, str] | None
    ) -> list[Event]:
        rng = self.rng
        channel = rng.choices(CHANNELS, weights=(6, 2, 1, 1))[0]
        template = f"tpl_{channel}_{rng.randint(1, 6)}"
        base: dict[str, Any] = {
            "messageId": f"msg_{uuid.UUID(int=rng.getrandbits(128))}",
            "channel": channel,
            "contactId": f"contact_{rng.randint(1, 5000)}",
            "templateId": template,
            "templateName": f"{channel.title()} template {template[-1]}",
            "provider": PROVIDERS[channel],
        }
        if source is not None:
            base["sourceType"], base["sourceId"] = source
        events: list[Event] = [("pipeline.message.sent", self._envelope(
            tenant, at, {**base, "cost": round(rng.uniform(0.0005, 0.05), 4)}))]
        if rng.random() < 0.03:
            events.append(("pipeline.message.failed", self._envelope(
                tenant, at + timedelta(seconds=2), {**base, "errorCode": "provider_timeout"})))
            return events
        if rng.random() < 0.04:
            events.append(("pipeline.message.bounced", self._envelope(
                tenant, at + timedelta(seconds=5),
                {**base, "bounceType": rng.choice(["hard", "soft"]), "errorCode": "550"})))
            return events
        delivered_ms = rng.randint(200, 20000)
        t = at + timedelta(milliseconds=delivered_ms)
        events.append(("pipeline.message.delivered", self._envelope(
            tenant, t, {**base, "durationMs": delivered_ms})))
        if rng.random() < 0.35:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                t += timedelta(minutes=rng.randint(1, 600))
                events.append(("pipeline.message.opened", self._envelope(tenant, t, base)))
            if rng.random() < 0.3:
                t += timedelta(seconds=rng.randint(5, 300))
                events.append(("pipeline.message.clicked", self._envelope(
                    tenant, t, {**base, "url": "https://example.com/offer"})))
        if rng.random() < 0.003:
            events.append(("pipeline.message.complained", self._envelope(tenant, t, base)))
        if rng.random() < 0.006:
            events.append(("pipeline.message.unsubscribed", self._envelope(tenant, t, base)))
        return events

    def campaign_story(self, tenant: str, at: datetime, size: int) -> list[Event]:
        campaign = f"cmp_{self.rng.randint(1, 40)}"
        name = {"name": f"Campaign {campaign[4:]}"}
        events: list[Event] = [("campaign.started", self._envelope(
            tenant, at, {"campaignId": campaign, **name, "recipientCount": size}))]
        for i in range(size):
            events += self.message_story(tenant, at + timedelta(seconds=i), ("campaign", campaign))
        events.append(("campaign.completed", self._envelope(
            tenant, at + timedelta(seconds=size + 1), {"campaignId": campaign, **name})))
        return events

    def workflow_story(self, tenant: str, at: datetime) -> list[Event]:
        rng = self.rng
        data = {"workflowId": f"wf_{rng.randint(1, 8)}", "runId": f"run_{uuid.uuid4().hex}",
                "name": "Onboarding", "contactId": f"contact_{rng.randint(1, 5000)}"}
        events: list[Event] = [("workflow.run.started", self._envelope(tenant, at, data))]
        events += self.message_story(tenant, at + timedelta(seconds=1),
                                     ("workflow", data["workflowId"]))
        if rng.random() < 0.85:
            status = "completed" if rng.random() < 0.9 else "failed"
            events.append(("workflow.run.completed", self._envelope(
                tenant, at + timedelta(minutes=rng.randint(1, 120)), {**data, "status": status})))
            if status == "completed" and rng.random() < 0.4:
                events.append(("workflow.run.goal_reached", self._envelope(
                    tenant, at + timedelta(minutes=121), data)))
        return events

    def sequence_story(self, tenant: str, at: datetime) -> list[Event]:
        rng = self.rng
        data = {"sequenceId": f"seq_{rng.randint(1, 5)}", "enrollmentId": f"enr_{uuid.uuid4().hex}",
                "name": "Follow-up", "contactId": f"contact_{rng.randint(1, 5000)}"}
        events: list[Event] = [("sequence.enrollment.enrolled", self._envelope(tenant, at, data))]
        t = at
        for step in range(1, rng.randint(2, 4)):
            t += timedelta(hours=rng.randint(1, 30))
            events.append(("sequence.step.executed", self._envelope(
                tenant, t, {**data, "stepNumber": step})))
            if rng.random() < 0.15:
                events.append(("sequence.enrollment.replied", self._envelope(
                    tenant, t + timedelta(minutes=30), {**data, "stepNumber": step})))
                break
        end = rng.choice(["sequence.enrollment.completed", "sequence.enrollment.exited", None])
        if end:
            events.append((end, self._envelope(tenant, t + timedelta(hours=1), data)))
        return events

    def stories(self, start: datetime, end: datetime, count: int) -> Iterator[Event]:
        """`count` stories with start times spread over [start, end)."""
        span = (end - start).total_seconds()
        for _ in range(count):
            tenant = self.rng.choice(self.tenants)
            at = start + timedelta(seconds=self.rng.uniform(0, span))
            kind = self.rng.random()
            if kind < 0.55:
                yield from self.message_story(tenant, at, None)
            elif kind < 0.7:
                yield from self.campaign_story(tenant, at, self.rng.randint(3, 12))
            elif kind < 0.85:
                yield from self.workflow_story(tenant, at)
            elif kind < 0.97:
                yield from self.sequence_story(tenant, at)
            else:
                yield ("contact.created", self._envelope(
                    tenant, at, {"contactId": f"contact_{self.rng.randint(1, 5000)}",
                                 "source": "import"}))


async def publish(js: Any, events: Iterator[Event], *, window: int = 256) -> int:
    """Publish events to JetStream with `Nats-Msg-Id`, `window` confirmations in flight."""
    encode = msgspec.json.encode
    pending: list[asyncio.Future[Any]] = []
    sent = 0
    try:
        for subject, envelope in events:
            pending.append(asyncio.ensure_future(js.publish(
                subject, encode(envelope), headers={"Nats-Msg-Id": envelope["id"]})))
            sent += 1
            if len(pending) >= window:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        for future in pending:
            future.cancel()
    return sent


async def run_demo(js: Any, tenants: list[str], stop: asyncio.Event) -> None:
    """Backfill 30 days of history, then keep publishing live traffic until `stop`."""
    traffic = DemoTraffic(tenants)
    now = datetime.now(UTC)
    sent = await publish(js, traffic.stories(now - timedelta(days=30), now, 3000))
    log.info("demo.backfill.published", events=sent)
    while not stop.is_set():
        now = datetime.now(UTC)
        sent = await publish(js, traffic.stories(now - timedelta(seconds=1), now, 10))
        log.debug("demo.live.published", events=sent)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
