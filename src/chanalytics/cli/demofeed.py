"""`run --demo`: the demo's history and live traffic, each event published once per data
directory, however often `run` is restarted there.

Time is cut into slots (an hour at the default rate, shorter when busier); the stories
starting in a slot come from a generator seeded by the directory's seed and the slot, so
a slot always yields the same events with the same ids. `demo.json` in the data directory
keeps the seed and the spans of time whose events have been published (acknowledged by
JetStream). A restart publishes only what lies outside those spans — the gap since the
last run, and history further back when `--backfill-days` asks for more — then live
traffic. Stories begun in the hours before a restart are made again, so their later
events (opens, sequence steps) still come. Should the marker lag behind what was
published (a kill between a publish and its record), the events published again carry
the same ids, and ingest stores an id once.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import structlog

from chanalytics.cli.demo import DemoTraffic, Event, Published, Schedule, iso, publish

log = structlog.get_logger(__name__)

MARKER_FILE = "demo.json"
SLOT_SECONDS = (3600, 600, 60, 10, 1)  # each divides an hour, so slots start on the hour
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
# How far back a restart makes stories again for their later events: a sequence's last
# step comes up to ~28 h after its start; at most ~20,000 stories, for busy rates.
LOOKBACK = timedelta(hours=30)
LOOKBACK_STORIES = 20_000


class DemoMarker(msgspec.Struct, kw_only=True):
    """`demo.json`: the directory's seed, and the closed spans [from, until] (ISO, ms, Z:
    they sort as times) whose events are published, disjoint and in order."""

    seed: str
    published: list[tuple[str, str]] = msgspec.field(default_factory=list)
    rate: float = 0.0  # stories per minute of the run that recorded last

    @classmethod
    def load(cls, data_dir: Path) -> DemoMarker:
        """The directory's marker, made (and saved, so the seed is fixed) on first use."""
        path = data_dir / MARKER_FILE
        try:
            return msgspec.json.decode(path.read_bytes(), type=cls)
        except FileNotFoundError:
            pass
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Unreadable: a new seed means new ids, so the history would be counted twice;
            # refuse instead of guessing.
            raise ValueError(f"{path} is not a demo marker ({exc}): move it away to start "
                             "the demo's history afresh") from None
        marker = cls(seed=secrets.token_hex(16))
        marker.save(data_dir)
        return marker

    def save(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / MARKER_FILE
        part = path.with_suffix(".json.part")
        part.write_bytes(msgspec.json.encode(self))
        part.replace(path)  # atomic: a kill leaves the old marker or the new one

    def covers(self, stamp: str) -> bool:
        return any(start <= stamp <= until for start, until in self.published)

    def add(self, start: str, until: str) -> None:
        spans = sorted([*self.published, (start, until)])
        merged = [spans[0]]
        for lo, hi in spans[1:]:
            if lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        self.published = merged

    def first_unpublished(self, at: datetime) -> datetime:
        """The earliest instant from `at` on whose events are not published."""
        for start, until in self.published:
            if start <= iso(at) <= until:
                at = datetime.fromisoformat(until) + MS
        return at

    def unpublished_seconds(self, start: datetime, end: datetime) -> float:
        covered = 0.0
        for lo, hi in self.published:
            lo_at = max(start, datetime.fromisoformat(lo))
            hi_at = min(end, datetime.fromisoformat(hi))
            covered += max(0.0, (hi_at - lo_at).total_seconds())
        return max(0.0, (end - start).total_seconds() - covered)


def slot_seconds(rate_per_minute: float) -> int:
    """The longest slot holding at most ~100 stories on average."""
    return next((s for s in SLOT_SECONDS if rate_per_minute * s / 60 <= 100), SLOT_SECONDS[-1])


class DemoFeed:
    """The demo's events for one data directory since `now - backfill_days`, published by
    `advance(now)` once their time has come, minus what the marker says is published."""

    def __init__(self, js: Any, tenants: list[str], data_dir: Path, *, rate_per_minute: float,
                 backfill_days: float, now: datetime) -> None:
        self.js = js
        self.data_dir = data_dir
        self.marker = DemoMarker.load(data_dir)
        self.rate = rate_per_minute
        self.traffic = DemoTraffic(tenants)
        self.schedule = Schedule()
        self.slot = slot_seconds(rate_per_minute)
        self.window = now - timedelta(days=backfill_days)
        self.history_seconds = self.marker.unpublished_seconds(self.window, now)
        # The same stories again only at the same rate: at another, they would be others.
        self.lookback = (min(LOOKBACK, timedelta(minutes=LOOKBACK_STORIES / rate_per_minute))
                         if self.marker.rate == rate_per_minute else timedelta(0))
        first = max(self.window, self.marker.first_unpublished(self.window) - self.lookback)
        self.next_slot = math.floor((first - EPOCH).total_seconds() / self.slot)
        self.until: datetime | None = None  # all wanted events up to here are published
        self.published = 0
        self.last_seq = 0  # the stream sequence of the newest event published
        self._saved_at = 0.0

    def _slot_start(self, index: int) -> datetime:
        return EPOCH + timedelta(seconds=index * self.slot)

    def _generate(self, index: int) -> None:
        """Schedule the stories that start in slot `index`: the same ones on every run."""
        at = self._slot_start(index)
        end = self._slot_start(index + 1) + self.lookback
        if any(lo <= iso(at) and iso(end) <= hi for lo, hi in self.marker.published):
            return  # its events are all published
        rng = self.traffic.rng
        rng.seed(f"{self.marker.seed}:{self.slot}:{index}")
        for _ in range(self.traffic.arrivals(self.rate, at, self.slot)):
            self.schedule.add(self.traffic.story(at + timedelta(seconds=rng.uniform(0,
                                                                                 self.slot))))

    async def advance(self, now: datetime) -> int:
        """Generate every slot begun by `now` and publish every wanted event due by then
        (history an hour at a time); returns how many were published."""
        sent = 0
        per_hour = 3600 // self.slot
        while self._slot_start(self.next_slot) <= now:
            self._generate(self.next_slot)
            self.next_slot += 1
            end = self._slot_start(self.next_slot)
            if end <= now and self.next_slot % per_hour == 0:
                sent += await self._release(end - MS)
        return sent + await self._release(now)

    async def _release(self, cutoff: datetime) -> int:
        window, marker = iso(self.window), self.marker
        batch: list[Event] = [e for e in self.schedule.due(cutoff)
                              if e[1]["timestamp"] >= window and not marker.covers(
                                  e[1]["timestamp"])]
        try:
            done = await publish(self.js, batch)
        except BaseException:
            self.schedule.add(batch)  # sent again later: the same ids, so stored once
            raise
        self.published += done.events
        self.last_seq = max(self.last_seq, done.last_seq)
        self.until = cutoff
        self.record(force=False)
        return done.events

    def record(self, *, force: bool = True) -> None:
        """Save what is published (every few seconds, and when told: at the end)."""
        loop_time = asyncio.get_running_loop().time()
        if self.until is None or (not force and loop_time - self._saved_at < 2.0):
            return
        self.marker.add(iso(self.window), iso(self.until))
        self.marker.rate = self.rate
        self.marker.save(self.data_dir)
        self._saved_at = loop_time


async def run_demo(feed: DemoFeed, stop: asyncio.Event, *,
                   acked_through: Callable[[], Awaitable[int]],
                   announce: Callable[[str], None]) -> None:
    """Publish the history the directory lacks, then live traffic every second until
    `stop`. Once ingest has acknowledged all the history (`acked_through`: the stream
    sequence up to which the consumer has acknowledged everything), `announce` it."""
    history: Published | None = None  # what the first advance published
    loading = feed.history_seconds >= 1
    try:
        while not stop.is_set():
            try:
                sent = await feed.advance(datetime.now(UTC))
            except Exception as exc:  # NATS away a moment: the events wait and go again
                log.warning("demo.events.unpublished", error=repr(exc))
            else:
                if history is None:
                    feed.record()
                    history = Published(feed.published, feed.last_seq)
                    log.info("demo.history.published", events=history.events,
                             waiting=len(feed.schedule))
                else:
                    log.debug("demo.live.published", events=sent, waiting=len(feed.schedule))
            if loading and history is not None and await _acked(acked_through,
                                                                history.last_seq):
                announce(f"demo history: done ({history.events:,} events published and "
                         "ingested); live traffic continues")
                loading = False
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        feed.record()


async def _acked(acked_through: Callable[[], Awaitable[int]], seq: int) -> bool:
    if seq == 0:
        return True  # nothing was published
    try:
        return await acked_through() >= seq
    except Exception as exc:  # asked again next second
        log.debug("demo.history.unknown", error=repr(exc))
        return False
