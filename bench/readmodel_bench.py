"""Read-model refresh: the storing statement's duration with and without the daily views.

    PYTHONPATH=src .venv/bin/python bench/readmodel_bench.py [--batches 12] [--size 5000]

Two databases in one embedded chDB engine: `full` (every migration) and `bare` (the same
without `campaign_daily_mv` and `tenant_daily_mv`). The same batches of synthetic message
events (20 tenants, 40 campaigns and none, 10,000 contacts, one UTC day, every message
type) are written to both, alternately, through the real `BatchWriter`; what is reported
is `chanalytics_read_model_refresh_seconds` (the statement that stores the batch and runs
every view) and `chanalytics_insert_seconds` (the whole write-ahead protocol), median per
batch. The difference of the medians is what the two daily views add to every batch.
The first batch of each database is a warm-up, left out. Appends to
bench/results/readmodels.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics

TYPES = ("message_sent", "message_delivered", "message_opened", "message_clicked",
         "message_bounced", "message_unsubscribed", "message_failed")
WEIGHTS = (30, 28, 20, 8, 2, 1, 1)
RESULTS = Path(__file__).parent / "results" / "readmodels.md"


def batch(rng: random.Random, start: int, size: int) -> list[AnalyticsRow]:
    day = datetime(2026, 12, 1, tzinfo=UTC)
    return [AnalyticsRow(
        id=f"b{start + n}", tenant_id=f"t{rng.randrange(20)}",
        event_type=rng.choices(TYPES, WEIGHTS)[0], entity_type="message",
        entity_id=f"m{rng.randrange(10**6)}", channel="email",
        contact_id=f"c{rng.randrange(10_000)}",
        campaign_id=rng.choice(["", *(f"k{i}" for i in range(40))]),
        occurred_at=day + timedelta(seconds=rng.randrange(86_400)))
        for n in range(size)]


async def main(batches: int, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stores = {name: Storage(f"chdb:{tmp}/ch", f"bench_{name}", threads=2)
                  for name in ("full", "bare")}
        for store in stores.values():
            store.connect()
            store.migrate(raw_ttl_days=3650)
        for view in ("campaign_daily_mv", "tenant_daily_mv"):
            await stores["bare"].command(f"DROP VIEW {view}")
        refresh: dict[str, list[float]] = {name: [] for name in stores}
        insert: dict[str, list[float]] = {name: [] for name in stores}
        rng = random.Random(7)
        for b in range(batches):
            rows = batch(rng, b * size, size)
            for name in (("full", "bare") if b % 2 else ("bare", "full")):
                metrics = Metrics()
                await BatchWriter(stores[name], metrics).write(rows)
                if b:
                    reg = metrics.registry
                    refresh[name].append(reg.get_sample_value(
                        "chanalytics_read_model_refresh_seconds_sum", {"table": "tenant_daily"}))
                    insert[name].append(reg.get_sample_value("chanalytics_insert_seconds_sum"))
        for store in stores.values():
            store.close()
    med = {name: (statistics.median(refresh[name]) * 1e3, statistics.median(insert[name]) * 1e3)
           for name in stores}
    line = (f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {batches - 1} x {size:,} | "
            f"{med['full'][0]:.0f} ms | {med['bare'][0]:.0f} ms | "
            f"{med['full'][1]:.0f} ms | {med['bare'][1]:.0f} ms |")
    print(line)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Read-model refresh (`bench/readmodel_bench.py`), embedded chDB, 2 cores\n\n"
            "Median per batch; `full` = every view, `bare` = without the two daily views.\n\n"
            "| when (UTC) | batches | refresh, full | refresh, bare | insert, full "
            "| insert, bare |\n|---|---|---:|---:|---:|---:|\n")
    with RESULTS.open("a") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--size", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.batches, args.size))
