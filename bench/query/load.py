"""Load the bench's events into an embedded engine, and bring its parts to a steady state."""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.query.data import DAY_MS, FUTURE, SPAN_DAYS, insert_sql, slot_table, tenant_counts
from chanalytics.clickhouse.storage import Storage
from chanalytics.logs import configure_logging

CHUNK = 10_000_000


def load(storage: Storage, events: int, tenants: int, end_ms: int) -> float:
    """Insert `events` over `tenants` in chunks (the views fill every rollup as ingest's
    inserts do), then the largest tenant's future events; seconds spent."""
    slots = slot_table(tenant_counts(events, tenants))
    span = SPAN_DAYS * DAY_MS
    started = time.perf_counter()
    done = 0
    while done < events:
        rows = min(CHUNK, events - done)
        t0 = time.perf_counter()
        storage.command_sync(insert_sql(done, rows, end_ms - span, span, events, slots))
        done += rows
        elapsed = time.perf_counter() - started
        print(f"  loaded {done:>12,} rows  chunk {time.perf_counter() - t0:6.1f} s  "
              f"total {elapsed:7.1f} s  {done / elapsed:>10,.0f} rows/s", flush=True)
    storage.command_sync(insert_sql(events, FUTURE, end_ms, 2 * DAY_MS, events, [1]))
    return time.perf_counter() - started


def wait_for_merges(storage: Storage, limit_s: float = 900.0) -> float:
    """Seconds spent waiting until no merge runs (timings taken during merges are not steady)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        running = storage.query_sync(
            "SELECT count() FROM system.merges WHERE database = currentDatabase()")[0][0]
        if not running:
            break
        time.sleep(5)
    return time.perf_counter() - started if time.perf_counter() - started > 1 else 0.0


def derived_tables(storage: Storage) -> list[str]:
    """Every table a view fills (the raw table, staging and migrations excluded)."""
    return [name for (name,) in storage.query_sync(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine LIKE '%MergeTree' AND name NOT IN "
        "('analytics_events', 'ingest_staging', 'ingest_ready', 'schema_migrations') "
        "ORDER BY name")]


def settle(storage: Storage) -> float:
    """Merge each derived table's parts within their partitions (`OPTIMIZE … FINAL`).

    The bench loads 90 days in chunks that each span all 90 days, so every bucket's rows
    sit in up to 10 parts. Real ingest is chronological: a bucket's rows arrive within
    minutes and background merges soon combine them. This puts the loaded data in that
    state once (a no-op when already merged)."""
    started = time.perf_counter()
    for table in derived_tables(storage):
        spread = storage.query_sync(
            "SELECT max(c) FROM (SELECT count() AS c FROM system.parts WHERE active AND "
            "database = currentDatabase() AND table = {t:String} GROUP BY partition)",
            {"t": table})[0][0]
        if spread and spread > 1 and table != "event_ids":
            storage.command_sync(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - started


def table_stats(storage: Storage) -> dict[str, tuple[int, int]]:
    """Rows and active parts of the raw table and every derived table."""
    tables = ["analytics_events", *derived_tables(storage)]
    stats = {t: (int(r), int(p)) for t, p, r in storage.query_sync(
        "SELECT table, count(), sum(rows) FROM system.parts WHERE active AND "
        "database = currentDatabase() AND table IN {t:Array(String)} GROUP BY table",
        {"t": tables})}
    return {t: stats.get(t, (0, 0)) for t in tables}


def ensure_loaded(data_dir: Path, events: int, tenants: int) -> tuple[Storage, dict[str, Any]]:
    """The data dir's storage, loaded with the asked-for events (reused when it holds them)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    meta_path = data_dir / "bench-meta.json"
    storage = Storage(f"chdb://{data_dir.resolve()}/clickhouse", "chanalytics")
    storage.connect()
    storage.migrate(raw_ttl_days=730)
    existing = storage.query_sync("SELECT count() FROM analytics_events")[0][0]
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if existing == events + FUTURE and meta.get("tenants") == tenants:
        print(f"reusing {existing:,} events in {data_dir} (loaded in {meta['load_s']:.0f} s)")
        return storage, meta
    if existing:
        raise SystemExit(f"{data_dir} holds {existing:,} events, not {events + FUTURE:,}: "
                         "use an empty --data-dir")
    print(f"loading {events:,} events over {tenants:,} tenants …", flush=True)
    end_ms = int(time.time() * 1000)
    load_s = load(storage, events, tenants, end_ms)
    meta = {"tenants": tenants, "events": events, "load_s": load_s, "end_ms": end_ms}
    meta["merge_wait_s"] = wait_for_merges(storage)
    meta["settle_s"] = settle(storage)
    meta_path.write_text(json.dumps(meta))
    print(f"loaded in {load_s:.0f} s ({events / load_s:,.0f} rows/s), settled in "
          f"{meta['settle_s']:.0f} s", flush=True)
    return storage, meta


@dataclass
class LargestTenant:
    """What a bench of one tenant's answers starts from: its arguments, the loaded
    storage, the data's `now`, and the tenant with the most events."""

    args: argparse.Namespace
    storage: Storage
    now: datetime
    tenant: str
    events: int


def largest_tenant_bench(description: str, *, reps: int) -> LargestTenant:
    """Parse `--events --tenants --data-dir --reps`, load (or reuse) the data and pick
    the largest tenant: the start of `audience_bench` and `campaign_bench`."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=reps)
    args = parser.parse_args()
    configure_logging("warning", "console")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    storage, meta = ensure_loaded(args.data_dir, args.events, args.tenants)
    (tenant, events), = storage.query_sync(
        "SELECT tenant_id, count() AS n FROM analytics_events GROUP BY tenant_id "
        "ORDER BY n DESC LIMIT 1")
    return LargestTenant(args, storage, datetime.fromtimestamp(meta["end_ms"] / 1000, UTC),
                         str(tenant), int(events))
