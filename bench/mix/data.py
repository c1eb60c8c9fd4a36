"""The bench's data: seeded demo events in three tenants, stored through the real ingest.

`demo_events` draws `--events` events of `DemoTraffic` stories (three tenant profiles:
retail, SaaS, delivery) over the `--days` before a fixed end, in time order, from a
seed: the same arguments give the same events. `ensure_loaded` publishes them to a
bundled NATS server and lets each store's own version of `chanalytics ingest` write them
(staging, dedup, the views filling every rollup), once per data dir: a database already
loaded with the same events is reused.

A store is one database on the shared ClickHouse server. When both checkouts have the
same DDL files, both versions read one database (migrated and loaded by `after`);
otherwise `before` cannot serve from `after`'s schema (`serve` refuses migrations it does
not know), so each version gets a database of its own, loaded with identical events.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats

from bench.mix.procs import Processes, Version, ch_query
from chanalytics.cli.demo import DemoTraffic, Event, iso, publish
from chanalytics.nats.server import LocalNatsServer, free_port

TENANTS = ("tenant_retail", "tenant_saas", "tenant_delivery")  # profiles in PROFILES order


@dataclass(frozen=True)
class Store:
    """A database, migrated and filled by `loader`'s code, read by `readers`."""

    database: str
    loader: Version
    readers: tuple[str, ...]


def plan_stores(before: Version, after: Version) -> list[Store]:
    """One shared database when the schemas are equal, else one per version."""
    if before.schema() == after.schema():
        return [Store(f"mix_{after.schema()}", after, (before.name, after.name))]
    return [Store(f"mix_{v.schema()}", v, (v.name,)) for v in (before, after)]


def demo_events(count: int, days: float, end: datetime, seed: int) -> list[Event]:
    """`count` events of seeded stories started in the `days` before `end` (events a
    story would have after `end` are left out), in time order."""
    traffic = DemoTraffic(list(TENANTS), seed=seed)
    cutoff = iso(end)
    stories = traffic.stories(end - timedelta(days=days), end, count=10**12)
    events = list(itertools.islice((e for e in stories if e[1]["timestamp"] < cutoff), count))
    events.sort(key=lambda e: e[1]["timestamp"])
    return events


def count_rows(ch_url: str, database: str, tenant: str | None = None) -> int:
    where = f" WHERE tenant_id = '{tenant}'" if tenant else ""  # tenant: one of TENANTS
    return int(ch_query(ch_url, f"SELECT count() FROM analytics_events{where}",  # noqa: S608
                        database))


def start_ingest(procs: Processes, store: Store, ch_url: str,
                 nats_url: str) -> subprocess.Popen[bytes]:
    """The store's version of `chanalytics ingest` on consumer = database, until ready."""
    port = free_port()
    return procs.chanalytics(f"ingest-{store.database}", store.loader, ["ingest"],
                      health=f"http://127.0.0.1:{port}/health/ready",
                      clickhouse_url=ch_url, clickhouse_database=store.database,
                      nats_url=nats_url, consumer_name=store.database,
                      ingest_http_port=str(port))


async def publish_all(nats_url: str, events: list[Event]) -> None:
    nc = await nats.connect(nats_url)
    try:
        await publish(nc.jetstream(), events)
    finally:
        await nc.close()


def wait_rows(ch_url: str, database: str, expected: int, seconds: float,
              tenant: str | None = None) -> int:
    """Poll until the database holds `expected` rows (of the tenant); the last count."""
    deadline = time.monotonic() + seconds
    while (rows := count_rows(ch_url, database, tenant)) < expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return rows


def ensure_loaded(procs: Processes, ch_url: str, stores: list[Store], data_dir: Path,
                  params: dict[str, Any]) -> dict[str, Any]:
    """Migrate every store; load those not holding these events yet. Returns the data's
    meta (`end`: the instant the events end)."""
    meta_path = data_dir / "bench-mix.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("params") != params:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        meta = {"params": params, "end": end.isoformat(), "databases": {}}
    loaded: dict[str, Any] = meta["databases"]
    stale = [s for s in stores if s.database not in loaded]
    if stale and len(stores) > 1 and len({loaded.get(s.database, {}).get("trickled", 0)
                                          for s in stores}) > 1:
        stale = list(stores)  # identical events in both, trickles included
    for store in stores:
        if store in stale:
            ch_query(ch_url, f"DROP DATABASE IF EXISTS {store.database}")
            loaded.pop(store.database, None)
        procs.run(f"migrate {store.database}", store.loader, ["migrate"],
                  clickhouse_url=ch_url, clickhouse_database=store.database)
    if stale:
        end = datetime.fromisoformat(meta["end"])
        started = time.perf_counter()
        events = demo_events(params["events"], params["days"], end, params["seed"])
        print(f"loading {len(events):,} events ({events[0][1]['timestamp']} … "
              f"{events[-1][1]['timestamp']}) into {', '.join(s.database for s in stale)}",
              flush=True)
        for store in stale:
            # One NATS server per store: two versions' ingest processes must not share one
            # (their insert-lease buckets differ between releases).
            nats_server = LocalNatsServer(procs.run_dir / f"nats-load-{store.database}")
            nats_server.start()
            ingest: subprocess.Popen[bytes] | None = None
            try:
                ingest = start_ingest(procs, store, ch_url, nats_server.url)
                asyncio.run(publish_all(nats_server.url, events))
                rows = wait_rows(ch_url, store.database, len(events), 900)
                if rows != len(events):
                    raise SystemExit(f"{store.database}: {rows:,} rows, not {len(events):,}")
                loaded[store.database] = {"trickled": 0, "load_s": time.perf_counter() - started}
            finally:
                if ingest is not None:
                    procs.stop(ingest)
                nats_server.stop()
                shutil.rmtree(nats_server.store_dir, ignore_errors=True)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def record_trickle(data_dir: Path, stores: list[Store], events: int) -> None:
    """Note events a trickle added to the stores (they stay: both versions see them)."""
    meta_path = data_dir / "bench-mix.json"
    meta = json.loads(meta_path.read_text())
    for store in stores:
        meta["databases"][store.database]["trickled"] += events
    meta_path.write_text(json.dumps(meta, indent=1))
