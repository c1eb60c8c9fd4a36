"""A 3-node NATS JetStream cluster of the bundled `nats-server`: the source and
dead-letter streams have 3 replicas; the node that leads the consumer is killed with
SIGKILL mid-ingest. Ingest carries on through the other nodes by itself and every event
is counted exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
import nats.errors
import pytest
from tests.integration.test_crash_loop import ingest_env, read_totals
from tests.integration.test_multiprocess import _wait

from chanalytics.cli.demo import DemoTraffic
from chanalytics.nats.server import find_binary, free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

EVENTS = 15_000
STREAM, CONSUMER = "ANALYTICS_SOURCE", "chanalytics-ingest"


class Cluster:
    """Three JetStream nodes on loopback, routed to each other."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = [free_port() for _ in range(3)]
        self.routes = [free_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.ports)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{r}" for r in self.routes)
        for i, (port, route) in enumerate(zip(self.ports, self.routes, strict=True)):
            name = f"n{i}"
            self.procs[name] = subprocess.Popen(
                [find_binary(), "-js", "-sd", str(self.root / name), "-a", "127.0.0.1",
                 "-p", str(port), "-n", name, "--cluster_name", "chanalytics",
                 "--cluster", f"nats://127.0.0.1:{route}", "--routes", routes],
                stdout=subprocess.DEVNULL, stderr=(self.root / f"{name}.log").open("wb"))

    def logs(self) -> str:
        """The last lines of each node's log, for a failure message."""
        return "\n".join(f"--- {name}: exit {proc.poll()}\n"
                         + "\n".join((self.root / f"{name}.log").read_text().splitlines()[-15:])
                         for name, proc in self.procs.items())

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


async def _js_ready(url: str) -> bool:
    try:
        nc = await nats.connect(url.split(","), connect_timeout=1, allow_reconnect=False)
    except Exception:
        return False
    try:
        await nc.jetstream().account_info()
        return True
    except Exception:
        return False
    finally:
        await nc.close()


async def _consumer(url: str) -> tuple[str | None, int, int, int | None]:
    """(leader node, pending, ack pending, stream replicas), or (None, …) while unknown."""
    nc = await nats.connect(url.split(","), connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        info = await js.consumer_info(STREAM, CONSUMER)
        stream = await js.stream_info(STREAM)
        leader = info.cluster.leader if info.cluster else None
        return leader, info.num_pending or 0, info.num_ack_pending or 0, stream.config.num_replicas
    except Exception:
        return None, -1, -1, None
    finally:
        await nc.close()


async def _publish(url: str, events: list[tuple[str, dict[str, object]]]) -> None:
    """As a platform's publisher would: a chunk that fails while the cluster elects new
    stream leaders (no responders, timeouts) is sent again; Nats-Msg-Id de-duplicates."""
    nc = await nats.connect(url.split(","))
    js = nc.jetstream(timeout=10)
    for start in range(0, len(events), 500):
        chunk = events[start:start + 500]
        deadline = time.monotonic() + 60
        while True:
            try:
                await asyncio.gather(*(js.publish(s, msgspec.json.encode(e),
                                                  headers={"Nats-Msg-Id": str(e["id"])})
                                       for s, e in chunk))
                break
            except (nats.errors.Error, TimeoutError):  # no stream response, timeouts, …
                assert time.monotonic() < deadline, "the cluster did not take publishes again"
                await asyncio.sleep(0.5)
    await nc.close()


def test_ingest_survives_the_consumer_leader_dying(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    events = list(DemoTraffic(["tenant_a"], seed=8).stories(
        now - timedelta(days=2), now - timedelta(minutes=1), EVENTS // 5))[:EVENTS]
    cluster = Cluster(tmp_path / "nats")
    cluster.start()
    env = {**ingest_env(tmp_path, cluster.url), "CHANALYTICS_STREAM_REPLICAS": "3"}
    ingest = subprocess.Popen([sys.executable, "-m", "chanalytics", "ingest"], env=env,
                              stderr=(tmp_path / "ingest.log").open("wb"))
    try:
        _wait(lambda: asyncio.run(_js_ready(cluster.url)), 60)
        # On two busy cores ingest's start (migrations) and the R3 stream's first leader
        # election can take a while; a failure says what ingest and the nodes did.
        deadline = time.monotonic() + 180
        while asyncio.run(_consumer(cluster.url))[0] is None:
            assert time.monotonic() < deadline, (
                f"no consumer after 180 s; ingest exit {ingest.poll()}\n"
                + (tmp_path / "ingest.log").read_text()[-3000:] + "\n" + cluster.logs())
            time.sleep(0.5)
        half = len(events) // 2
        asyncio.run(_publish(cluster.url, events[:half]))
        # An info request may time out under load ((None, …)): ask until one answers.
        deadline = time.monotonic() + 60
        while (known := asyncio.run(_consumer(cluster.url)))[0] is None:
            assert time.monotonic() < deadline, "no consumer leader known"
            time.sleep(0.2)
        leader, _, _, replicas = known
        assert replicas == 3 and leader in cluster.procs
        cluster.kill(leader)
        killed_at = time.monotonic()
        # The rest is published through the two nodes left.
        asyncio.run(_publish(",".join(f"nats://127.0.0.1:{p}" for p, n in
                                      zip(cluster.ports, cluster.procs, strict=True)
                                      if n != leader), events[half:]))

        def drained() -> bool:
            new_leader, pending, acking, _ = asyncio.run(_consumer(cluster.url))
            return new_leader not in (None, leader) and pending == 0 and acking == 0

        _wait(drained, 300)
        print(f"\nnats cluster: leader {leader} killed; drained {time.monotonic() - killed_at:.1f}"
              " s later through the other two nodes")
        assert ingest.poll() is None, (tmp_path / "ingest.log").read_text()[-3000:]
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(60) == 0
    finally:
        if ingest.poll() is None:
            ingest.kill()
        cluster.stop()
    totals = read_totals(tmp_path, env)
    truth = Counter(s.removeprefix("pipeline.").replace(".", "_") for s, _ in events)
    assert totals["rows"] == totals["ids"] == len(events)
    assert totals["raw"] == dict(truth)

