"""Kill the ingest process with SIGKILL at random points, restart it, and count.

The short version runs in CI; the long one by hand:
    CRASH_KILLS=10 CRASH_EVENTS=1000000 ./scripts/test tests/integration/test_crash_loop.py -s \
        --timeout 2400
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from chanalytics.cli.demo import DemoTraffic
from chanalytics.nats.server import LocalNatsServer

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

KILLS = int(os.environ.get("CRASH_KILLS", "4"))
EVENTS = int(os.environ.get("CRASH_EVENTS", "30000"))

# Runs in a fresh process after the last ingest exited (one chDB owner per directory).
READ_TOTALS = """
import json, sys
from chanalytics.clickhouse.storage import Storage
s = Storage(sys.argv[1], "chanalytics"); s.connect()
raw = dict(s.query_sync("SELECT event_type, count() FROM analytics_events GROUP BY 1"))
rolled = dict(s.query_sync("SELECT event_type, sum(events) FROM message_counts_15m GROUP BY 1"))
opened = s.query_sync("SELECT uniqExact(key) FROM distinct_keys_15m "
                      "WHERE kind = 'message' AND event_type = 'message_opened'")
distinct = s.query_sync("SELECT count(), uniqExact(id) FROM analytics_events")[0]
print(json.dumps({"raw": raw, "rollup": rolled, "opened": opened[0][0],
                  "rows": distinct[0], "ids": distinct[1]}))
"""


def read_totals(tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    """READ_TOTALS over the embedded engine that `ingest_env`'s processes wrote (run once
    the last of them has exited: one chDB owner per directory)."""
    dsn = f"chdb://{(tmp / 'data' / 'clickhouse').resolve()}"
    out = subprocess.run([sys.executable, "-c", READ_TOTALS, dsn], capture_output=True,
                         check=True, env=env)
    return dict(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def ingest_env(tmp: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
    env.update(CHANALYTICS_DATA_DIR=str(tmp / "data"), CHANALYTICS_NATS_URL=url,
               CHANALYTICS_INGEST_BATCH_SIZE="2000", CHANALYTICS_INGEST_FLUSH_INTERVAL_MS="200",
               CHANALYTICS_INGEST_ACK_WAIT_MS="2000", CHANALYTICS_LOG_LEVEL="warning")
    return env


async def publish_all(url: str, events: list[tuple[str, dict[str, Any]]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    encode = msgspec.json.encode
    rng = random.Random(5)
    for start in range(0, len(events), 500):
        chunk = events[start:start + 500]
        acks = [js.publish(s, encode(e), headers={"Nats-Msg-Id": f"{e['id']}-{rng.random()}"})
                for s, e in chunk]
        await asyncio.gather(*acks)
        await asyncio.sleep(0.005)
    await nc.close()


async def consumer_idle(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info("ANALYTICS_SOURCE", "chanalytics-ingest")
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)
    except Exception:
        return False
    finally:
        await nc.close()


def test_totals_exact_after_repeated_sigkill(tmp_path: Path) -> None:
    """Across several SIGKILLs at random points, every event is counted exactly once."""
    server = LocalNatsServer(tmp_path / "nats")
    server.start()
    rng = random.Random(11)
    now = datetime.now(UTC)
    stories = DemoTraffic([f"tenant_{i}" for i in range(5)], seed=3)
    events = list(stories.stories(now - timedelta(days=7), now, EVENTS // 3))[:EVENTS]
    # A tenth of the events is published twice (a publisher retry with another Nats-Msg-Id).
    doubled = events + [events[i] for i in rng.sample(range(len(events)), len(events) // 10)]
    rng.shuffle(doubled)
    env = ingest_env(tmp_path, server.url)
    cmd = [sys.executable, "-m", "chanalytics", "ingest"]
    try:
        # The first ingest creates the stream and consumer; publishing then runs in the
        # background while ingest is killed and restarted.
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
        restarted = time.monotonic()
        deadline = time.monotonic() + 60
        while not asyncio.run(_stream_ready(server.url)):
            assert proc.poll() is None and time.monotonic() < deadline, "ingest did not start"
            time.sleep(0.2)
        publisher = subprocess.Popen(
            [sys.executable, "-c", _PUBLISH_SCRIPT, server.url, str(Path(__file__).parent)],
            stdin=subprocess.PIPE)
        assert publisher.stdin is not None
        publisher.stdin.write(msgspec.json.encode(doubled))
        publisher.stdin.close()
        kills = 0
        while kills < KILLS:
            time.sleep(rng.uniform(0.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
            restarted = time.monotonic()
        assert publisher.wait(timeout=600) == 0
        deadline = time.monotonic() + 600
        while not asyncio.run(consumer_idle(server.url)):
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            assert time.monotonic() < deadline, "ingest did not drain"
            time.sleep(0.5)
        # A process still importing dies of SIGTERM by default (nothing has started yet);
        # this one must show its clean stop, so it gets past its start first.
        time.sleep(max(0.0, 5.0 - (time.monotonic() - restarted)))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    totals = read_totals(tmp_path, env)

    truth = Counter(s.removeprefix("pipeline.").replace(".", "_") for s, _ in events)
    opened = {e["data"]["messageId"] for s, e in events if s == "pipeline.message.opened"}
    print(f"\ncrash loop: {kills} kills, {len(doubled)} published, {len(events)} distinct, "
          f"{totals['rows']} stored")
    assert totals["rows"] == totals["ids"] == len(events)
    assert totals["raw"] == dict(truth)
    messages = {t: n for t, n in truth.items() if t.startswith("message_")}
    assert totals["rollup"] == messages
    assert totals["opened"] == len(opened)


async def _stream_ready(url: str) -> bool:
    return await consumer_idle(url) or await _has_consumer(url)


async def _has_consumer(url: str) -> bool:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().consumer_info("ANALYTICS_SOURCE", "chanalytics-ingest")
        return True
    except Exception:
        return False
    finally:
        await nc.close()


# Runs in its own process, so publishing never waits on the test's event loop.
_PUBLISH_SCRIPT = """
import asyncio, sys, msgspec
sys.path.insert(0, sys.argv[2])
from test_crash_loop import publish_all
events = msgspec.json.decode(sys.stdin.buffer.read())
asyncio.run(publish_all(sys.argv[1], [tuple(e) for e in events]))
"""
