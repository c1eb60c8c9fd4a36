"""What a flush interval costs: the service's CPU per event at a steady publish rate.

    PYTHONPATH=src:. .venv/bin/python bench/flush_cpu_bench.py --flush-ms 1000 500 1000 500 \
        [--rate 500] [--seconds 40]

For each `--flush-ms` in turn (repeat them to alternate), starts a fresh `chanalytics run`
(embedded, no clients) with `CHANALYTICS_INGEST_FLUSH_INTERVAL_MS` set, publishes
`message_sent` events of three tenants at `--rate` per second for `--seconds`, waits for
the last to be stored, and prints the CPU the service process used meanwhile (utime +
stime of it and its children, from /proc): a shorter interval means more, smaller
inserts, and each insert costs about the same whatever its size. Results are in
bench/results/live.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nats

from bench.live_bench import children, cpu_seconds, free_port, wait_ready
from bench.procs import stop


def service_cpu(pid: int) -> float:
    """CPU seconds of the service and its children (the bundled nats-server)."""
    return sum(cpu_seconds(p) for p in [pid, *children(pid)])


async def publish(nats_port: int, rate: int, seconds: int) -> int:
    """`message_sent` events of three tenants at `rate`/s for `seconds`, all acknowledged."""
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    js = nc.jetstream()
    started = due = time.monotonic()
    n = 0
    while time.monotonic() - started < seconds:
        event = {"id": f"f{n}-{time.time_ns()}", "tenantId": f"tenant_{n % 3}",
                 "type": "message_sent",
                 "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 "data": {"messageId": f"m{n}", "channel": "email", "contactId": f"c{n % 500}"}}
        await js.publish_async("pipeline.message.sent", json.dumps(event).encode())
        n += 1
        due += 1 / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    await js.publish_async_completed()
    await nc.close()
    return n


def one(flush_ms: int, rate: int, seconds: int, work: Path) -> str:
    port, nats_port = free_port(), free_port()
    env = {**os.environ, "CHANALYTICS_DATA_DIR": str(work / f"flush-{flush_ms}-{time.time_ns()}"),
           "CHANALYTICS_API_KEYS": "tok=tenant_0", "CHANALYTICS_LOG_LEVEL": "warning",
           "CHANALYTICS_INGEST_FLUSH_INTERVAL_MS": str(flush_ms)}
    proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "run", "--port", str(port),
                             "--nats-port", str(nats_port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/ready", proc, "run", work)
        time.sleep(5)  # start-up work (migrations, first jobs) out of the window
        before, started = service_cpu(proc.pid), time.monotonic()
        n = asyncio.run(publish(nats_port, rate, seconds))
        time.sleep(3)  # the last batch stored
        used, wall = service_cpu(proc.pid) - before, time.monotonic() - started
        return (f"| {flush_ms} | {rate}/s | {n:,} | {used:.1f} | {wall:.0f} | "
                f"{100 * used / wall:.0f}% | {1e6 * used / n:,.0f} |")
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flush-ms", type=int, nargs="+", default=[1000, 500, 1000, 500])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=40)
    args = parser.parse_args()
    print("| flush ms | rate | events | service CPU s | wall s | of a core | µs per event |\n"
          "|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory(prefix="flush-bench-") as work:
        for flush_ms in args.flush_ms:
            print(one(flush_ms, args.rate, args.seconds, Path(work)), flush=True)


if __name__ == "__main__":
    main()
