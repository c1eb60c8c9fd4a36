"""Alert evaluation at scale: 1,000 tenants x 5 rules, the time of one evaluation round.

    PYTHONPATH=src:. .venv/bin/python bench/alerts_bench.py [--tenants 1000] [--rounds 6]

Stores 8 days of message traffic for `--tenants` tenants (12 messages an hour each over
the last 24 hours and 3 an hour before, on email, sms and push, three
providers, sent / delivered / opened / failed) into a throw-away embedded ClickHouse,
gives each tenant five rules (deliveryRate of email over 60 min, failureRate over 15 min,
sent over 5 min, openRate over a day, p95DeliveryMs of one provider over 60 min) and a
monthly budget, then runs `--rounds` evaluation rounds one minute apart
(`AlertService.evaluate(now)`: rules, budgets), and the hourly anomaly detector once over
7 days of every tenant's channels (`detect_anomalies`). `--keep DIR` keeps the loaded
database there and reuses it on the next run. Prints and appends the timings to
bench/results/alerts.md. The contract's target: a round of 5,000 rules within 10 s
(the evaluator runs every minute).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from chanalytics.alerts.notify import Dispatcher
from chanalytics.alerts.rules import Rule
from chanalytics.alerts.service import AlertService
from chanalytics.alerts.store import AlertStore
from chanalytics.budgets import Budget, BudgetStore
from chanalytics.clickhouse.storage import Storage
from chanalytics.coordination.lease import LocalLock
from chanalytics.ingest.writer import BatchWriter
from chanalytics.logs import configure_logging
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine

RESULTS = Path(__file__).parent / "results" / "alerts.md"
NOW = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)
CHANNELS = ("email", "sms", "push")
PROVIDERS = ("sendgrid", "twilio", "fcm")


def _rules(tenant: int) -> list[Rule]:
    base = {"deliveries": []}
    return [Rule(id=f"r{tenant}_{i}", name=f"rule {i}", **(base | spec)) for i, spec in
            enumerate([
                {"metric": "deliveryRate", "channel": "email", "operator": "<",
                 "threshold": 90.0, "window_minutes": 60},
                {"metric": "failureRate", "operator": ">", "threshold": 5.0,
                 "window_minutes": 15},
                {"metric": "sent", "operator": "<", "threshold": 1.0, "window_minutes": 5},
                {"metric": "openRate", "operator": "<", "threshold": 10.0,
                 "window_minutes": 1440},
                {"metric": "p95DeliveryMs", "provider": "sendgrid", "operator": ">",
                 "threshold": 5000.0, "window_minutes": 60},
            ])]


def _events(tenant: str, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    out = []
    n = 0
    for hour in range(24 * 8, 0, -1):
        per_hour = 12 if hour <= 24 else 3
        start = NOW - timedelta(hours=hour)
        for _ in range(per_hour):
            n += 1
            at = start + timedelta(seconds=rng.uniform(0, 3600))
            channel = rng.choice(CHANNELS)
            data = {"messageId": f"{tenant}-{n}", "channel": channel,
                    "provider": rng.choice(PROVIDERS), "cost": 0.01}

            def add(subject: str, when: datetime, data: dict[str, Any] = data,
                    **extra: Any) -> None:
                out.append((f"pipeline.message.{subject}", {
                    "id": f"{tenant}-{len(out)}", "tenantId": tenant,
                    "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "data": data | extra}))

            add("sent", at)
            if rng.random() < 0.93:
                add("delivered", at + timedelta(seconds=2), durationMs=rng.randint(200, 4000))
                if rng.random() < 0.3:
                    add("opened", at + timedelta(minutes=5))
            else:
                add("failed", at + timedelta(seconds=2), errorCode="x")
    return out


async def load(storage: Storage, tenants: int) -> int:
    rng = random.Random(7)
    writer = BatchWriter(storage, Metrics())
    stored = 0
    batch: list[Any] = []
    for t in range(tenants):
        for subject, envelope in _events(f"tenant_{t:04d}", rng):
            batch.append(map_event(subject, msgspec.json.encode(envelope), stored + 1))
            stored += 1
        if len(batch) >= 20_000:
            await writer.write(batch)
            batch = []
    if batch:
        await writer.write(batch)
    store, budgets = AlertStore(storage), BudgetStore(storage)
    for t in range(tenants):
        for rule in _rules(t):
            await store.put_rule(f"tenant_{t:04d}", rule)
        await budgets.put(f"tenant_{t:04d}", Budget(monthly_budget=1000.0))
    return stored


async def measure(storage: Storage, tenants: int, rounds: int,
                  ) -> tuple[list[tuple[float, int]], tuple[float, int]]:
    store = AlertStore(storage)
    names = [f"tenant_{t:04d}" for t in range(tenants)]
    service = AlertService(store, Engine(storage), BudgetStore(storage),
                           evaluate_lock=LocalLock(), dispatch_lock=LocalLock(),
                           dispatcher=Dispatcher(store, publisher=None, webhooks=None,
                                                 email=None), tenants=lambda: names)
    out = []
    for r in range(rounds):
        started = time.perf_counter()
        changes = await service.evaluate(NOW + timedelta(minutes=r))
        out.append((time.perf_counter() - started, len(changes)))
        print(f"round {r + 1}: {out[-1][0]:.2f} s, {len(changes)} state changes", flush=True)
    started = time.perf_counter()
    found = await service.detect_anomalies(NOW)
    anomalies = (time.perf_counter() - started, len(found))
    print(f"anomaly detector: {anomalies[0]:.2f} s, {len(found)} alerts", flush=True)
    return out, anomalies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database here")
    args = parser.parse_args()
    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        storage = Storage(f"chdb://{where}", "alerts_bench")
        storage.connect()
        storage.migrate(raw_ttl_days=3650)
        stored = int(storage.query_sync("SELECT count() FROM analytics_events")[0][0])
        if not stored:
            started = time.perf_counter()
            stored = asyncio.run(load(storage, args.tenants))
            print(f"{stored:,} events, {args.tenants * 5:,} rules stored in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        storage.command_sync("TRUNCATE TABLE alerts")  # every run starts with none firing
        storage.command_sync("TRUNCATE TABLE alert_deliveries")
        timings, anomalies = asyncio.run(measure(storage, args.tenants, args.rounds))
        storage.close()
    seconds = [t for t, _ in timings]
    lines = [
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.tenants:,} tenants x 5 rules, "
        f"{stored:,} events (embedded chDB)\n",
        "| round | seconds | state changes |", "|---|---|---|",
        *(f"| {i + 1} | {t:.2f} | {c} |" for i, (t, c) in enumerate(timings)),
        f"| the hourly anomaly detector | {anomalies[0]:.2f} | {anomalies[1]} |",
        "",
        f"Rule rounds: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.out.exists():
        args.out.write_text("# Alert evaluation rounds (bench/alerts_bench.py)\n")
    with args.out.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
