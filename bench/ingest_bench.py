"""Ingest benchmark: end-to-end events/s beside the raw nats-py pull+ack rate, same messages.

    .venv/bin/python bench/ingest_bench.py --events 200000 [--uvloop]

1. Starts a bundled nats-server in a temp dir and publishes N realistic contract events
   (DemoTraffic, ~390 bytes each) to the source stream.
2. `raw` phase (own process): a second durable consumer pulls fetch(1000) + explicit ack
   of every message, nothing else — the ceiling of the Python receive path.
3. `ingest` phase (own process): the real IngestService on embedded chDB drains the
   stream; the clock stops when analytics_events holds all N rows (the rollups are
   written in the same insert). Peak RSS of that process is sampled every 0.2 s.
Results are appended to bench/results/ingest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
from nats.js.api import AckPolicy, ConsumerConfig

from chanalytics.cli.demo import DemoTraffic
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.service import IngestService
from chanalytics.ingest.streams import ensure_stream
from chanalytics.mappers.events import SUBJECTS
from chanalytics.metrics import Metrics
from chanalytics.nats.server import LocalNatsServer

STREAM = "ANALYTICS_SOURCE"
RESULTS = Path(__file__).parent / "results" / "ingest.md"


def memory_mb() -> tuple[float, float]:
    """(resident, resident anonymous) in MB. chDB maps a 555 MB library: its pages count in
    VmRSS as file-backed, shareable page cache; RssAnon is the memory the process owns."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("RssAnon", 0.0)


class PeakRss:
    def __init__(self) -> None:
        self.peak = 0.0
        self.peak_anon = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, anon = memory_mb()
            self.peak, self.peak_anon = max(self.peak, rss), max(self.peak_anon, anon)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def publish(url: str, n: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    await ensure_stream(js, STREAM, list(SUBJECTS))
    traffic = DemoTraffic([f"tenant_{i}" for i in range(50)], seed=1)
    now = datetime.now(UTC)
    encode = msgspec.json.encode
    sizes = 0
    sent = 0
    pending = []
    for subject, env in traffic.stories(now - timedelta(days=30), now, n):
        body = encode(env)
        sizes += len(body)
        pending.append(js.publish(subject, body, headers={"Nats-Msg-Id": env["id"]}))
        sent += 1
        if len(pending) == 2000:
            await asyncio.gather(*pending)
            pending = []
        if sent >= n:
            break
    await asyncio.gather(*pending)
    await nc.close()
    return sizes / sent


async def raw_phase(url: str, n: int) -> dict[str, float]:
    nc = await nats.connect(url, pending_size=64 * 1024 * 1024)
    js = nc.jetstream(timeout=30)
    await js.add_consumer(STREAM, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT,
                                                 max_ack_pending=50_000, ack_wait=120))
    sub = await js.pull_subscribe_bind(durable="raw", stream=STREAM)
    got = 0
    started = time.perf_counter()
    while got < n:
        msgs = await sub.fetch(1000, timeout=5)
        for m in msgs:
            await m.ack()
        got += len(msgs)
    await nc.flush()
    elapsed = time.perf_counter() - started
    await nc.close()
    return {"events": got, "seconds": elapsed, "rate": got / elapsed}


async def ingest_phase(url: str, n: int, data_dir: str, batch: int) -> dict[str, float]:
    settings = load_settings({}, data_dir=data_dir, ingest_batch_size=batch,
                             ingest_flush_interval_ms=1000, log_level="warning")
    from chanalytics.logs import configure_logging

    configure_logging(os.environ.get("BENCH_LOG", "warning"), "console")
    storage = Storage(settings.clickhouse_dsn, settings.clickhouse_database)
    storage.connect()
    storage.migrate(raw_ttl_days=settings.raw_ttl_days)
    service = IngestService(settings, storage, Metrics(), url)
    with PeakRss() as peak:
        started = time.perf_counter()
        await service.start()
        while True:
            rows = (await storage.query("SELECT count() FROM analytics_events"))[0][0]
            if rows >= n:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await service.stop()
    rollup = (await storage.query("SELECT sum(events) FROM message_counts_15m"))[0][0]
    raw_messages = (await storage.query(
        "SELECT count() FROM analytics_events WHERE entity_type = 'message'"))[0][0]
    storage.close()
    return {"events": rows, "seconds": elapsed, "rate": rows / elapsed, "peak_rss_mb": peak.peak,
            "peak_anon_mb": peak.peak_anon,
            "rollup_matches_raw": float(rollup == raw_messages)}


def run_phase(args: argparse.Namespace, phase: str, url: str, data_dir: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--phase", phase, "--url", url, "--events", str(args.events),
           "--data-dir", data_dir, "--batch", str(args.batch)]
    if args.uvloop:
        cmd.append("--uvloop")
    if phase == "ingest" and args.profile:
        # py-spy (a test dependency) samples the ingest process; flamegraph-ready stacks.
        py_spy = str(Path(sys.executable).parent / "py-spy")
        cmd = [py_spy, "record", "--native", "--threads", "-r", "50", "-f", "raw",
               "-o", str(args.profile), "--", *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    # The phase prints its result last (py-spy's own lines may follow it).
    result = [line for line in out.stdout.splitlines() if line.startswith("{")][-1]
    return dict(json.loads(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--phase", choices=["raw", "ingest"])
    parser.add_argument("--url")
    parser.add_argument("--data-dir")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results table to append to")
    parser.add_argument("--profile", type=Path, help="write py-spy stacks of the ingest phase here")
    args = parser.parse_args()
    runner = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run  # type: ignore[assignment]
    if args.phase == "raw":
        print(json.dumps(runner(raw_phase(args.url, args.events))))
        return
    if args.phase == "ingest":
        print(json.dumps(runner(ingest_phase(args.url, args.events, args.data_dir, args.batch))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        server = LocalNatsServer(Path(tmp) / "nats")
        server.start()
        try:
            t = time.perf_counter()
            avg = asyncio.run(publish(server.url, args.events))
            print(f"published {args.events} events (~{avg:.0f} B) in {time.perf_counter()-t:.1f}s")
            raw = run_phase(args, "raw", server.url, tmp)
            print("raw  ", raw)
            ing = run_phase(args, "ingest", server.url, tmp + "/data")
            print("ingest", ing)
        finally:
            server.stop()
    ratio = ing["rate"] / raw["rate"]
    loop = "uvloop" if args.uvloop else "asyncio"
    line = (f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {args.events:,} | {avg:.0f} B | {loop} | "
            f"{args.batch:,} | {raw['rate']:,.0f}/s | {ing['rate']:,.0f}/s | {ratio:.2f} | "
            f"{ing['peak_rss_mb']:.0f} MB | {ing['peak_anon_mb']:.0f} MB | "
            f"{'yes' if ing['rollup_matches_raw'] else 'NO'} |\n")
    args.output.parent.mkdir(exist_ok=True)
    if not args.output.exists():
        args.output.write_text(
            "# Ingest benchmark (`bench/ingest_bench.py`), 2 cores\n\n"
            "| when (UTC) | events | avg size | loop | batch | raw pull+ack | ingest end-to-end "
            "| ratio | peak RSS | peak anonymous RSS | rollup = raw |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    with args.output.open("a") as f:
        f.write(line)
    print(line)
    os._exit(0)


if __name__ == "__main__":
    main()
