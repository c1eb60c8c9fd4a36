"""The demo's stream as `run --demo` publishes it: valid, never the future, shaped like a
real platform (per-channel rules, rhythm, providers that differ), and published once per
data directory however often `run --demo` restarts there."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from chanalytics.cli.demo import DemoTraffic, Schedule, backfill
from chanalytics.cli.demofeed import MARKER_FILE, DemoFeed, DemoMarker, run_demo, slot_seconds
from chanalytics.mappers import map_event

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # a Wednesday afternoon


class Recorder:
    """Stands in for JetStream's publish (a unit test of what is published, not of NATS)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, subject: str, body: bytes, headers: dict[str, str]
                      ) -> SimpleNamespace:
        envelope = msgspec.json.decode(body)
        assert headers == {"Nats-Msg-Id": envelope["id"]}
        self.events.append((subject, envelope))
        return SimpleNamespace(seq=len(self.events))  # as JetStream's PubAck


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


def test_every_event_maps_to_the_row_it_describes(
        stream: list[tuple[str, dict[str, Any]]]) -> None:
    """Each event passes the contract's mapper (which raises InvalidEvent otherwise) and
    becomes a row with the envelope's id, tenant, instant and type."""
    types = Counter()
    for subject, envelope in stream:
        row = map_event(subject, msgspec.json.encode(envelope))
        stamp = row.occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert (row.id, row.tenant_id, stamp) == (
            envelope["id"], envelope["tenantId"], envelope["timestamp"])
        assert row.event_type == subject.removeprefix("pipeline.").replace(".", "_")
        assert row.channel == envelope["data"].get("channel", "")
        types[row.event_type] += 1
    assert len(types) >= 15  # every kind of story is in two weeks


def test_nothing_is_published_from_the_future() -> None:
    events, schedule = published()
    stamp = NOW.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert max(env["timestamp"] for _, env in events) <= stamp
    assert len(schedule) > 0  # later opens and sequence steps wait for their time
    later = list(schedule.due(NOW + timedelta(days=2)))
    assert later and min(env["timestamp"] for _, env in later) > stamp
    assert len(schedule) == 0


def test_unseeded_generators_share_no_event_id() -> None:
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


def feed(data_dir: Path, now: datetime, days: float = 1, rate: float = 1.0,
         ) -> tuple[DemoFeed, Recorder]:
    js = Recorder()
    return DemoFeed(js, ["tenant_demo", "tenant_b"], data_dir, rate_per_minute=rate,
                    backfill_days=days, now=now), js


async def run_until(demo: DemoFeed, *instants: datetime) -> None:
    for at in instants:
        await demo.advance(at)
    demo.record()


def ids(events: list[tuple[str, dict[str, Any]]]) -> set[str]:
    return {env["id"] for _, env in events}


class TestOncePerDataDirectory:
    def test_a_restart_publishes_only_the_gap_with_the_ids_one_run_would_have(
            self, tmp_path: Path) -> None:
        """Run, stop, run again 5 hours later: the second run publishes what the first did
        not (nothing at or before its end), and the events one uninterrupted run would
        have published (late opens and steps of stories begun before the restart too)."""
        first, first_js = feed(tmp_path / "d", NOW, days=1.25)  # the restart's lookback
        asyncio.run(run_until(first, NOW))
        later = NOW + timedelta(hours=5)
        second, second_js = feed(tmp_path / "d", later, days=1.25)
        assert second.history_seconds == pytest.approx(5 * 3600)
        asyncio.run(run_until(second, later))
        (tmp_path / "one").mkdir()
        (tmp_path / "one" / MARKER_FILE).write_bytes(  # the same seed, nothing published
            msgspec.json.encode(DemoMarker(seed=DemoMarker.load(tmp_path / "d").seed)))
        one, one_js = feed(tmp_path / "one", NOW, days=1.25)
        asyncio.run(run_until(one, NOW, later))

        stamp = NOW.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert first_js.events and second_js.events
        assert min(env["timestamp"] for _, env in second_js.events) > stamp
        assert not ids(first_js.events) & ids(second_js.events)
        assert ids(first_js.events) == ids(one_js.events[:len(first_js.events)])
        assert ids(second_js.events) <= ids(one_js.events)
        lost = ids(one_js.events) - ids(first_js.events) - ids(second_js.events)
        assert len(lost) < 0.005 * len(second_js.events)

    def test_a_second_run_at_once_publishes_no_history(self, tmp_path: Path) -> None:
        first, _ = feed(tmp_path, NOW, days=0.5)
        asyncio.run(run_until(first, NOW))
        again, js = feed(tmp_path, NOW + timedelta(seconds=1), days=0.5)
        asyncio.run(run_until(again, NOW + timedelta(seconds=1)))
        assert again.history_seconds == pytest.approx(1.0)
        assert len(js.events) <= 5  # at most the second's own events

    def test_a_longer_backfill_adds_only_older_history(self, tmp_path: Path) -> None:
        first, first_js = feed(tmp_path, NOW, days=0.5)
        asyncio.run(run_until(first, NOW))
        longer, js = feed(tmp_path, NOW, days=1)
        asyncio.run(run_until(longer, NOW))
        start = (NOW - timedelta(days=0.5)).isoformat(timespec="milliseconds")
        assert js.events and max(env["timestamp"] for _, env in js.events) < start + "Z"
        assert not ids(first_js.events) & ids(js.events)
        assert DemoMarker.load(tmp_path).published == [(
            (NOW - timedelta(days=1)).isoformat(timespec="milliseconds")[:23] + "Z",
            NOW.isoformat(timespec="milliseconds")[:23] + "Z")]

    def test_a_marker_that_lags_sends_the_same_events_again_never_new_ones(
            self, tmp_path: Path) -> None:
        """A kill after a publish but before its record: the next run re-sends those
        events with the same ids and contents, which ingest stores once."""
        first, first_js = feed(tmp_path, NOW)
        asyncio.run(first.advance(NOW))  # no final record: the marker holds the first hour
        assert DemoMarker.load(tmp_path).published[0][1] < NOW.isoformat()
        again, js = feed(tmp_path, NOW)
        asyncio.run(run_until(again, NOW))
        before = dict((env["id"], env) for _, env in first_js.events)
        assert js.events and all(before[env["id"]] == env for _, env in js.events)

    def test_another_directory_has_other_ids(self, tmp_path: Path) -> None:
        one, one_js = feed(tmp_path / "a", NOW, days=0.5)
        other, other_js = feed(tmp_path / "b", NOW, days=0.5)
        asyncio.run(run_until(one, NOW))
        asyncio.run(run_until(other, NOW))
        assert one_js.events and other_js.events
        assert not ids(one_js.events) & ids(other_js.events)

    def test_slots_hold_about_a_hundred_stories_at_most(self) -> None:
        assert slot_seconds(1.0) == 3600 and slot_seconds(0.05) == 3600
        assert slot_seconds(10) == 600 and slot_seconds(600) == 10
        assert slot_seconds(1e6) == 1

    def test_spans_merge(self) -> None:
        marker = DemoMarker(seed="s")
        marker.add("2026-11-01T00:00:00.000Z", "2026-11-02T00:00:00.000Z")
        marker.add("2026-11-05T00:00:00.000Z", "2026-11-06T00:00:00.000Z")
        marker.add("2026-11-01T12:00:00.000Z", "2026-11-03T00:00:00.000Z")
        assert marker.published == [("2026-11-01T00:00:00.000Z", "2026-11-03T00:00:00.000Z"),
                                    ("2026-11-05T00:00:00.000Z", "2026-11-06T00:00:00.000Z")]
        assert marker.covers("2026-11-02T23:59:59.999Z")
        assert not marker.covers("2026-11-04T00:00:00.000Z")


def test_run_demo_says_when_the_history_is_ingested(tmp_path: Path) -> None:
    """`run_demo` announces the history only once ingest has acknowledged its last
    event, then keeps publishing live traffic until stopped."""
    demo, js = feed(tmp_path, datetime.now(UTC), days=0.2)
    said: list[str] = []
    acked = [0]
    history: list[int] = []  # what was published when ingest was first asked: the history
    stop = asyncio.Event()

    async def acked_through() -> int:
        acked[0] += 1
        if acked[0] == 1:
            history.append(demo.published)
        return len(js.events) if acked[0] >= 2 else 0  # ingest catches up on the 2nd ask

    def announce(line: str) -> None:
        said.append(line)
        stop.set()

    asyncio.run(asyncio.wait_for(run_demo(demo, stop, acked_through=acked_through,
                                          announce=announce), timeout=20))
    assert acked[0] == 2 and len(said) == 1
    # The announced count is the history's, not what live traffic added since (a second
    # that passed before the second ask may have published live events too).
    assert said[0].startswith(f"demo history: done ({history[0]:,} events")
    assert DemoMarker.load(tmp_path).published  # recorded at the stop
