"""A scheduled report of 1M rows, as CSV, to a webhook: the scheduler process's memory.

    PYTHONPATH=src:. .venv/bin/python bench/report_delivery_bench.py [--rows 1000000]
        [--clickhouse-url http://127.0.0.1:8123] [--out bench/results/report_delivery.md]

Stores `--rows` click events, each with a URL of its own, in a throw-away embedded
ClickHouse, saves a report (`clicked` by `url` over the last day, CSV, one webhook with a
secret) and runs one tick of it through the scheduler as an API process would
(`ReportScheduler.step`: the query streamed to a temporary file, the file stored in
ClickHouse in chunks, then POSTed in pieces to a receiver). The receiver, a thread of this
process, reads the body in 64 KB pieces and checks the signature incrementally, so it holds
no copy of the file either.

This process's VmRSS and RssAnon are sampled every 20 ms from before the step to its end;
the growth over the value before the step is the figure of interest (target <= 100 MB).
chDB runs in this process, so its memory for the query (grouping 1M URLs) counts too.
With `--clickhouse-url` (a running `chanalytics clickhouse-server`, as `serve` uses in
server mode) the query runs there and the figure is the scheduler's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import os
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec

from bench.procs import memory_mb
from chanalytics.clickhouse.storage import Storage
from chanalytics.deliveries import AddressPolicy, RetryPolicy, WebhookSender
from chanalytics.ingest.writer import BatchWriter
from chanalytics.logs import configure_logging
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine
from chanalytics.reports.definition import ReportDefinitionBody
from chanalytics.reports.runner import ReportRunner
from chanalytics.reports.scheduler import ReportScheduler
from chanalytics.reports.store import ReportStore

RESULTS = Path(__file__).parent / "results" / "report_delivery.md"
SECRET = "bench-secret"
WHERE = {False: "embedded chDB in the same process",
         True: "a ClickHouse server in its own process: this process holds only the client"}
TENANT = "t_bench"


class Received:
    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.signature_ok = False
        self.requests = 0


def receiver(received: Received) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.requests += 1
            left = int(self.headers.get("Content-Length", "0"))
            mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha256)
            while left:
                piece = self.rfile.read(min(left, 1 << 16))
                if not piece:
                    break
                left -= len(piece)
                mac.update(piece)
                received.bytes += len(piece)
                received.lines += piece.count(b"\n")
            received.signature_ok = hmac.compare_digest(
                "sha256=" + mac.hexdigest(), self.headers.get("Chanalytics-Signature", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


async def load(storage: Storage, rows: int, at: datetime) -> float:
    started = time.perf_counter()
    writer = BatchWriter(storage, Metrics())
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    batch = []
    for i in range(rows):
        envelope = {"id": f"rb-{i}", "tenantId": TENANT, "timestamp": stamp,
                    "data": {"messageId": f"m-{i}", "channel": "email",
                             "url": f"https://example.com/p/{i:07d}"}}
        batch.append(map_event("pipeline.message.clicked", msgspec.json.encode(envelope), i + 1))
        if len(batch) == 20_000:
            await writer.write(batch)
            batch = []
    if batch:
        await writer.write(batch)
    return time.perf_counter() - started


async def main(rows: int, out: Path, url: str | None) -> None:
    configure_logging("warning")
    pid = os.getpid()
    with tempfile.TemporaryDirectory() as tmp:
        storage = (Storage(url, f"bench_{uuid.uuid4().hex[:8]}") if url
                   else Storage(f"chdb://{tmp}", "bench"))
        storage.connect()
        storage.migrate(raw_ttl_days=3650)
        now = datetime.now(UTC)
        load_s = await load(storage, rows, now - timedelta(hours=2))
        received = Received()
        server, port = receiver(received)
        store = ReportStore(storage)
        body = msgspec.convert({
            "name": "Clicks by URL", "format": "csv",
            "query": {"metrics": ["clicked"], "dimensions": ["url"], "timeRange": "1d"},
            "schedule": {"cron": "* * * * *"},
            "deliveries": [{"webhook": {"url": f"http://127.0.0.1:{port}/hook",
                                        "secret": SECRET}}]}, ReportDefinitionBody)
        stored = await store.put(TENANT, "rep_bench", body)
        tick = stored.updated_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        runner = ReportRunner(Engine(storage), store, WebhookSender(
            AddressPolicy(["127.0.0.1"]), RetryPolicy(tries=1, timeout=600)), None,
            clock=lambda: tick)
        scheduler = ReportScheduler(store, runner, clock=lambda: tick)
        gc.collect()
        before = memory_mb(pid)
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append(memory_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()

        async def fence() -> None:
            return None

        await scheduler.step(fence)
        await scheduler.drain()
        run_s = time.perf_counter() - started
        done.set()
        sampler.join()
        (run,) = await store.runs(TENANT, "rep_bench")
        server.shutdown()
        if url:
            await storage.command(f"DROP DATABASE `{storage.database}`")
        storage.close()
    peak_rss = max(s[0] for s in samples)
    peak_anon = max(s[1] for s in samples)
    growth, anon_growth = peak_rss - before[0], peak_anon - before[1]
    ok = (run.status == "succeeded" and received.signature_ok and received.lines == rows + 1
          and received.bytes == run.bytes)
    report = (
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {rows:,} rows, CSV, one webhook\n\n"
        f"`PYTHONPATH=src:. .venv/bin/python bench/report_delivery_bench.py --rows {rows}"
        f"{' --clickhouse-url ' + url if url else ''}` "
        f"({WHERE[bool(url)]}; {os.cpu_count()} cores, shared)\n\n"
        "| | value |\n|---|---:|\n"
        f"| events loaded | {rows:,} in {load_s:.1f} s |\n"
        f"| run: query → temp file → ClickHouse chunks → webhook | {run_s:.1f} s |\n"
        f"| file | {run.bytes / 1e6:.1f} MB, {run.rows:,} rows |\n"
        f"| received | {received.bytes / 1e6:.1f} MB, {received.lines:,} lines, signature "
        f"{'valid' if received.signature_ok else 'INVALID'} |\n"
        f"| VmRSS before → peak | {before[0]:.0f} → {peak_rss:.0f} MB (+{growth:.0f} MB) |\n"
        f"| RssAnon before → peak | {before[1]:.0f} → {peak_anon:.0f} MB "
        f"(+{anon_growth:.0f} MB) |\n"
        f"| target: growth <= 100 MB | {'met' if growth <= 100 else 'NOT met'} |\n"
        f"| run status, deliveries | {run.status}, {run.deliveries[0].status} |\n")
    print(report)
    assert ok, (f"the delivered file does not match the run: {run.status} {run.rows} rows "
                f"{run.bytes} bytes; received {received.lines} lines {received.bytes} bytes "
                f"in {received.requests} requests, signature {received.signature_ok}")
    with out.open("a") as sink:
        if sink.tell() == 0:
            sink.write("# Scheduled report delivery: memory of a large report\n")
        sink.write(report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clickhouse-url", help="a ClickHouse server's HTTP URL (default: "
                        "embedded chDB in this process)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.out, args.clickhouse_url))
