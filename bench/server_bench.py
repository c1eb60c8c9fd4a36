"""Server mode: ingest processes against `chanalytics clickhouse-server`, a 1M backlog.

    .venv/bin/python -m bench.server_bench --events 1000000 [--kill-every 100000]

1. Starts `chanalytics clickhouse-server` and a bundled nats-server in a temp dir and
   publishes N demo events (as bench/ingest_bench.py does).
2. `one`: one `chanalytics ingest` process drains the stream into database `one`; its
   RSS (and anonymous RSS) is sampled every 0.2 s from /proc.
3. `two`: two processes on another durable consumer drain the same messages into
   database `two`, sharing the KV lease.
4. `soak` (with --kill-every K): two processes into database `soak`; one of them is
   SIGKILLed and restarted every K stored events; the totals must end exact.
5. API p95 of the seven endpoints (the busiest tenant, 30 days, 30 calls each) through
   `serve` over HTTP on the server, then through `serve` on the embedded engine of the
   same data directory once the server has stopped.
Results are appended to bench/results/server.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.ingest_bench import publish
from bench.procs import memory_mb, stop
from chanalytics.clickhouse.storage import Storage
from chanalytics.nats.server import LocalNatsServer, free_port

RESULTS = Path(__file__).parent / "results" / "server.md"
ENDPOINTS = ("overview", "messages", "campaigns", "workflows", "sequences", "templates",
             "traffic")
TOKEN = "bench-token"


def wait_http(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer") from None
            time.sleep(0.2)


@contextmanager
def process(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        stop(proc)


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
    env.update(CHANALYTICS_DATA_DIR=str(data_dir), CHANALYTICS_LOG_LEVEL="warning",
               CHANALYTICS_LOG_FORMAT="json", **extra)
    return env


def drain(ch_url: str, nats_url: str, data_dir: Path, database: str, workers: int, n: int,
          kill_every: int = 0, batch: int = 0) -> dict[str, float]:
    """`workers` ingest processes on consumer `database` until `database` holds n rows."""
    env = base_env(data_dir, CHANALYTICS_CLICKHOUSE_URL=ch_url, CHANALYTICS_NATS_URL=nats_url,
                   CHANALYTICS_CLICKHOUSE_DATABASE=database, CHANALYTICS_CONSUMER_NAME=database,
                   **({"CHANALYTICS_INGEST_BATCH_SIZE": str(batch)} if batch else {}))
    cmd = [sys.executable, "-m", "chanalytics", "ingest"]
    subprocess.run([sys.executable, "-m", "chanalytics", "migrate"], env=env, check=True,
                   capture_output=True)
    counter = Storage(ch_url, database, threads=1)
    counter.connect()

    def count() -> int:
        return int(counter.query_sync("SELECT count() FROM analytics_events")[0][0])

    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    peak = peak_anon = 0.0
    kills, next_kill, stored = 0, kill_every, 0
    started = time.perf_counter()
    try:
        while stored < n:
            time.sleep(0.2)
            for proc in procs:
                if proc.poll() is None:
                    rss, anon = memory_mb(proc.pid)
                    peak, peak_anon = max(peak, rss), max(peak_anon, anon)
            stored = count()
            if kill_every and stored >= next_kill and stored < n:
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait()
                procs[0] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
                kills += 1
                next_kill += kill_every
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        counter.close()
    storage = Storage(ch_url, database, threads=1)
    storage.connect()
    rows, ids = storage.query_sync("SELECT count(), uniqExact(id) FROM analytics_events")[0]
    rolled = storage.query_sync("SELECT sum(events) FROM message_counts_15m")[0][0]
    messages = storage.query_sync(
        "SELECT count() FROM analytics_events WHERE entity_type = 'message'")[0][0]
    storage.close()
    return {"seconds": elapsed, "rate": n / elapsed, "peak_rss": peak, "peak_anon": peak_anon,
            "kills": kills, "exact": float(rows == ids == n and rolled == messages)}


def api_p95(env: dict[str, str], tenant: str, calls: int = 30) -> dict[str, float]:
    port = free_port()
    env = {**env, "CHANALYTICS_HTTP_PORT": str(port), "CHANALYTICS_API_KEYS": f"{TOKEN}={tenant}"}
    out: dict[str, float] = {}
    with process([sys.executable, "-m", "chanalytics", "serve"], env):
        wait_http(f"http://127.0.0.1:{port}/health/live")
        for endpoint in ENDPOINTS:
            url = f"http://127.0.0.1:{port}/api/v1/analytics/{endpoint}?timeRange=30d"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
            times = []
            for i in range(calls + 3):
                t = time.perf_counter()
                urllib.request.urlopen(request, timeout=60).read()
                if i >= 3:
                    times.append((time.perf_counter() - t) * 1e3)
            out[endpoint] = statistics.quantiles(times, n=20)[18]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--kill-every", type=int, default=0)
    parser.add_argument("--batch", type=int, default=0,
                        help="CHANALYTICS_INGEST_BATCH_SIZE (default: the service's own)")
    parser.add_argument("--only-one", action="store_true",
                        help="the one-process phase only (memory at another --batch)")
    args = parser.parse_args()
    n = args.events
    with tempfile.TemporaryDirectory(prefix="serverbench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        nats_server = LocalNatsServer(root / "nats")
        nats_server.start()
        http_port = free_port()
        ch_url = f"http://127.0.0.1:{http_port}"
        server_cmd = [sys.executable, "-m", "chanalytics", "clickhouse-server",
                      "--http-port", str(http_port), "--tcp-port", str(free_port())]
        results: dict[str, dict[str, float]] = {}
        try:
            with process(server_cmd, base_env(data)):
                wait_http(f"{ch_url}/ping")
                t = time.perf_counter()
                size = asyncio.run(publish(nats_server.url, n))
                print(f"published {n:,} events (~{size:.0f} B) in {time.perf_counter() - t:.0f} s",
                      flush=True)
                phases = [("one", 1, 0)] if args.only_one else [("one", 1, 0), ("two", 2, 0)]
                if args.kill_every and not args.only_one:
                    phases.append(("soak", 2, args.kill_every))
                for name, workers, kill_every in phases:
                    results[name] = drain(ch_url, nats_server.url, data, name, workers, n,
                                          kill_every, args.batch)
                    print(name, results[name], flush=True)
                if not args.only_one:
                    env = base_env(data, CHANALYTICS_CLICKHOUSE_URL=ch_url,
                                   CHANALYTICS_CLICKHOUSE_DATABASE="one")
                    results["api_server"] = api_p95(env, "tenant_0")
            if not args.only_one:
                embedded = base_env(data, CHANALYTICS_CLICKHOUSE_DATABASE="one")
                results["api_embedded"] = api_p95(embedded, "tenant_0")
        finally:
            nats_server.stop()
    write(n, args.batch, results)


def write(n: int, batch: int, results: dict[str, dict[str, float]]) -> None:
    size = f"{batch:,}" if batch else "default"
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {n:,} events, batch {size}, "
             "`python -m bench.server_bench`", "",
             "| phase | ingest processes | seconds | events/s | peak RSS / anonymous (MB, per "
             "process) | SIGKILLs | exact |", "|---|---:|---:|---:|---|---:|---|"]
    for name in ("one", "two", "soak"):
        if name in results:
            r = results[name]
            lines.append(f"| {name} | {2 if name != 'one' else 1} | {r['seconds']:.0f} | "
                         f"{r['rate']:,.0f} | {r['peak_rss']:.0f} / {r['peak_anon']:.0f} | "
                         f"{r['kills']:.0f} | {'yes' if r['exact'] else 'NO'} |")
    if "two" in results:
        ratio = results["two"]["rate"] / results["one"]["rate"]
        lines += ["", f"Two processes: {ratio:.2f}x one process's rate."]
    if "api_server" in results:
        lines += ["", "| endpoint (tenant_0, 30d) | p95 ms over HTTP on the server | p95 ms "
                  "embedded |", "|---|---:|---:|"]
        lines += [f"| {e} | {results['api_server'][e]:.1f} | {results['api_embedded'][e]:.1f} |"
                  for e in ENDPOINTS]
    RESULTS.parent.mkdir(exist_ok=True)
    previous = RESULTS.read_text() if RESULTS.exists() else (
        "# Server mode (`bench/server_bench.py`): ingest processes on `chanalytics "
        "clickhouse-server`, 2 cores\n")
    RESULTS.write_text(previous.rstrip() + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
