"""The demo's stream as `run --demo` publishes it: valid, never the future, fresh ids per
run, and shaped like a real platform (per-channel rules, rhythm, providers that differ)."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from chanalytics.demo import DemoTraffic, Schedule, backfill
from chanalytics.mappers import map_event

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # a Wednesday afternoon


class Recorder:
    """Stands in for JetStream's publish (a unit test of what is published, not of NATS)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        envelope = msgspec.json.decode(body)
        assert headers == {"Nats-Msg-Id": envelope["id"]}
        self.events.append((subject, envelope))


def published(now: datetime = NOW, days: float = 14, seed: int | None = None,
              ) -> tuple[list[tuple[str, dict[str, Any]]], Schedule]:
    js, schedule = Recorder(), Schedule()
    asyncio.run(backfill(js, DemoTraffic(["tenant_demo", "tenant_b"], seed=seed), schedule,
                         now, rate_per_minute=1.0, days=days))
    return js.events, schedule


@pytest.fixture(scope="module")
def stream() -> list[tuple[str, dict[str, Any]]]:
    return published(seed=1)[0]


def by_type(stream: list[tuple[str, dict[str, Any]]], subject: str) -> list[dict[str, Any]]:
    return [env["data"] for s, env in stream if s == subject]


def test_every_event_is_valid(stream: list[tuple[str, dict[str, Any]]]) -> None:
    for subject, envelope in stream:
        map_event(subject, msgspec.json.encode(envelope))  # raises InvalidEvent if not


def test_nothing_is_published_from_the_future() -> None:
    events, schedule = published()
    stamp = NOW.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert max(env["timestamp"] for _, env in events) <= stamp
    assert len(schedule) > 0  # later opens and sequence steps wait for their time
    later = list(schedule.due(NOW + timedelta(days=2)))
    assert later and min(env["timestamp"] for _, env in later) > stamp
    assert len(schedule) == 0


def test_two_runs_share_no_event_id() -> None:
    first = {env["id"] for _, env in published(days=2)[0]}
    second = {env["id"] for _, env in published(days=2)[0]}
    assert first and second and not first & second


def test_sms_and_push_report_no_opens_and_only_email_has_machine_opens(
        stream: list[tuple[str, dict[str, Any]]]) -> None:
    opens = by_type(stream, "pipeline.message.opened")
    assert {o["channel"] for o in opens} == {"email", "whatsapp"}
    machine = [o for o in opens if o.get("machineOpen")]
    assert machine and {o["channel"] for o in machine} == {"email"}
    people = [o for o in opens if not o.get("machineOpen")]
    assert all(o["userAgent"] and len(o["geo"]["country"]) == 2 for o in people)
    clicks = by_type(stream, "pipeline.message.clicked")
    assert {"sms", "push"} <= {c["channel"] for c in clicks}


def test_each_campaign_uses_one_channel_and_has_a_name(
        stream: list[tuple[str, dict[str, Any]]]) -> None:
    channels: dict[str, set[str]] = defaultdict(set)
    for sent in by_type(stream, "pipeline.message.sent"):
        if sent.get("sourceType") == "campaign":
            channels[sent["sourceId"]].add(sent["channel"])
    assert len(channels) >= 4 and all(len(c) == 1 for c in channels.values())
    names = {d["name"] for d in by_type(stream, "campaign.started")}
    assert len(names) >= 4 and all(not n.startswith("Campaign ") for n in names)
    assert len({d["name"] for d in by_type(stream, "workflow.run.started")}) >= 3
    assert len({d["name"] for d in by_type(stream, "sequence.enrollment.enrolled")}) >= 3


def test_providers_differ_in_speed_failures_and_price(
        stream: list[tuple[str, dict[str, Any]]]) -> None:
    latency: dict[str, list[int]] = defaultdict(list)
    for d in by_type(stream, "pipeline.message.delivered"):
        latency[d["provider"]].append(d["durationMs"])
    assert statistics.median(latency["sendgrid"]) > 2 * statistics.median(latency["ses"])
    sent = Counter(d["provider"] for d in by_type(stream, "pipeline.message.sent"))
    failed = Counter(d["provider"] for d in by_type(stream, "pipeline.message.failed"))
    assert failed["vonage"] / sent["vonage"] > 3 * failed["twilio"] / sent["twilio"]
    cost: dict[str, list[float]] = defaultdict(list)
    for d in by_type(stream, "pipeline.message.sent"):
        cost[d["provider"]].append(d.get("cost", 0.0))
    assert statistics.mean(cost["sendgrid"]) > 3 * statistics.mean(cost["ses"])
    bounces = by_type(stream, "pipeline.message.bounced")
    assert {b["bounceType"] for b in bounces} == {"hard", "soft"}
    assert all(b["errorCode"] for b in bounces)


def test_traffic_has_a_daily_and_weekly_rhythm(
        stream: list[tuple[str, dict[str, Any]]]) -> None:
    stamps = [datetime.fromisoformat(env["timestamp"]) for s, env in stream
              if s == "pipeline.message.sent"]
    day = sum(1 for t in stamps if 9 <= t.hour < 17)
    night = sum(1 for t in stamps if t.hour < 9)
    assert day > 2 * night  # 8 working hours against the 9 before them
    weekday = Counter(t.date() for t in stamps if t.weekday() < 5)
    weekend = Counter(t.date() for t in stamps if t.weekday() >= 5)
    assert statistics.mean(weekend.values()) < 0.75 * statistics.mean(weekday.values())


def test_live_rate_matches_the_backfill_rate() -> None:
    traffic = DemoTraffic(["t"], seed=2)
    week = [NOW + timedelta(minutes=m) for m in range(0, 7 * 24 * 60)]
    per_minute = sum(traffic.arrivals(1.0, at, 60) for at in week) / len(week)
    assert 0.9 < per_minute < 1.1


def test_each_tenant_has_its_own_shape() -> None:
    js = Recorder()
    tenants = ["retail", "saas", "delivery"]
    asyncio.run(backfill(js, DemoTraffic(tenants, seed=3), Schedule(), NOW,
                         rate_per_minute=1.0, days=14))
    sent: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for subject, env in js.events:
        kinds[env["tenantId"]][subject] += 1
        if subject == "pipeline.message.sent":
            sent[env["tenantId"]][env["data"]["channel"]] += 1
    share = {t: sent[t]["email"] / sum(sent[t].values()) for t in tenants}
    assert share["saas"] > 0.6 and share["delivery"] < 0.15 < share["retail"] < 0.7
    assert sent["saas"]["sms"] == 0 and sent["delivery"]["sms"] > sent["delivery"]["email"]
    assert sum(sent["retail"].values()) > 2 * sum(sent["saas"].values())  # the busy one
    assert kinds["delivery"]["sequence.enrollment.enrolled"] == 0
    runs = {t: kinds[t]["workflow.run.started"] / sum(sent[t].values()) for t in tenants}
    assert runs["saas"] > 1.5 * runs["retail"]
