"""The trickle: new events for the asked tenant while the cells run, and their count.

`Trickle.run` publishes `rate` events a second, event after event of fresh `DemoTraffic`
stories of the tenant's own profile, every event dated inside all three windows
(`cells.common_span`), so each one must show in every cell. `counted` then checks, once
the ingest has stored them all, that both versions' answers grew by exactly the events
published: counters that move by one per event (sent, delivered, runs, enrollments, …).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import nats

from bench.mix.cells import Cell, Clients, Window
from bench.mix.data import TENANTS
from chanalytics.cli.demo import DemoTraffic, Event, iso

# (endpoint, key path in `data`, subject whose every event adds one)
CHECKS = (
    ("overview", "summary.totalMessagesSent", "pipeline.message.sent"),
    ("messages", "summary.sent", "pipeline.message.sent"),
    ("messages", "summary.delivered", "pipeline.message.delivered"),
    ("messages", "summary.bounced", "pipeline.message.bounced"),
    ("messages", "summary.failed", "pipeline.message.failed"),
    ("workflows", "summary.totalRuns", "workflow.run.started"),
    ("sequences", "summary.totalEnrollments", "sequence.enrollment.enrolled"),
    ("costs", "summary.messages", "pipeline.message.sent"),
)


class Trickle:
    """`rate` events a second for `tenant`, dated in [span start, span end)."""

    def __init__(self, nats_urls: list[str], tenant: str, rate: float,
                 span: tuple[datetime, datetime]) -> None:
        self.nats_urls, self.rate, self.span = nats_urls, rate, span
        self.traffic = DemoTraffic(list(TENANTS))  # unseeded: fresh ids on every run
        self.traffic.tenants = [tenant]  # `story` draws only this tenant, its own profile
        self.published: Counter[str] = Counter()

    def events(self) -> Iterator[Event]:
        """Stories started a day or more before the span ends, kept when every event
        of the story falls inside the span."""
        start, end = self.span
        seconds = (end - start).total_seconds() - 86_400
        low, high = (iso(t) for t in self.span)
        while True:
            at = start + timedelta(seconds=self.traffic.rng.uniform(0, seconds))
            story = self.traffic.story(at)
            if all(low <= e[1]["timestamp"] < high for e in story):
                yield from story

    async def run(self, stop: asyncio.Event) -> None:
        """Publish, paced to `rate` a second, until `stop`; acknowledged by JetStream (on
        every server given: one per version when their ingest processes cannot share one)."""
        conns = [await nats.connect(url) for url in self.nats_urls]
        streams = [nc.jetstream() for nc in conns]
        encode = msgspec.json.encode
        due = time.monotonic()
        try:
            for subject, envelope in self.events():
                if stop.is_set():
                    break
                for js in streams:
                    await js.publish(subject, encode(envelope),
                                     headers={"Nats-Msg-Id": envelope["id"]})
                self.published[subject] += 1
                due += 1 / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        finally:
            for nc in conns:
                await nc.close()


async def drained(nats_url: str, stream: str, consumers: list[str],
                  seconds: float = 120) -> bool:
    """Until every consumer has every message delivered and acknowledged: ingest acks a
    batch only once its insert (the views included) has returned, whereas the raw
    table's rows are visible before the views' inserts finish."""
    nc = await nats.connect(nats_url)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            infos = [await nc.jetstream().consumer_info(stream, c) for c in consumers]
            if all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos):
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await nc.close()


def dig(answer: Any, path: str) -> int:
    for key in ["data", *path.split(".")]:
        answer = answer[key]
    return int(answer)


async def snapshot(clients: Clients, windows: list[Window]) -> dict[tuple[str, str, str], int]:
    """Every check's number, per version and window: (version, window, endpoint.path)."""
    numbers = {}
    for window in windows:
        for endpoint in sorted({c[0] for c in CHECKS}):
            for version in ("before", "after"):
                _, answer = await clients.get(version, Cell(endpoint, window))
                for e, path, _ in CHECKS:
                    if e == endpoint:
                        numbers[(version, window.name, f"{e}.{path}")] = dig(answer, path)
    return numbers


@dataclass
class Counted:
    """What the trickle added and what each version's answers show of it."""

    published: Counter[str]
    rows: dict[str, tuple[int, int]]  # database → (rows added, events published)
    misses: list[str]  # "version window check: +seen, expected +n"
    checks: int
    askings: int  # 1: every number was right at the first asking after the rows were stored
    first_misses: list[str]  # the numbers not yet right at the first asking
    seconds: float  # from that first asking to the last


async def counted(clients: Clients, windows: list[Window],
                  before: dict[tuple[str, str, str], int], published: Counter[str],
                  rows: dict[str, tuple[int, int]], patience: float = 10.0) -> Counted:
    """Compare each check's growth with the events published; re-ask for up to
    `patience` seconds (the misses left then are events some answer never counted)."""
    started = time.monotonic()
    askings, first_misses = 0, None
    while True:
        askings += 1
        after = await snapshot(clients, windows)
        misses = []
        for (version, window, check), value in sorted(after.items()):
            subject = next(s for e, p, s in CHECKS if f"{e}.{p}" == check)
            grown, expected = value - before[(version, window, check)], published[subject]
            if grown != expected:
                misses.append(f"{version} · {window} · {check}: +{grown}, expected +{expected}")
        first_misses = misses if first_misses is None else first_misses
        waited = time.monotonic() - started
        if not misses or waited > patience:
            return Counted(published, rows, misses, len(after), askings, first_misses,
                           waited)
        await asyncio.sleep(0.5)
