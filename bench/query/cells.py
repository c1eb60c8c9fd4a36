"""The timed cells: every endpoint, per tenant, zone and range, rollups vs the raw table.

Each request goes through the real app as served (the planner picks rollups, nothing
kept: every call asks ClickHouse) and through a twin whose engine may read only
`analytics_events` (`tables.RAW_TABLES`). The two answers must be equal — the bench
fails otherwise — and their timings give the rollups' speed-up where users are: their
zones, their windows. A third app keeps answers as `serve` does (tenant versions, here
in-process: nothing is written during the bench, so after its first call a cell is
served from what was kept); its answer must equal the raw one too.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from bench.query.timing import Timing, timed
from chanalytics.app import create_app, freeze_startup_objects
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.query.engine import Engine
from chanalytics.query.tables import RAW_TABLES
from chanalytics.versions import LocalVersions

ZONES = ("UTC", "Asia/Kolkata", "America/New_York")
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("overview", "overview", {}),
    ("messages(day)", "messages", {"granularity": "day"}),
    ("messages(hour)", "messages", {"granularity": "hour"}),
    ("campaigns", "campaigns", {}),
    ("workflows", "workflows", {}),
    ("sequences", "sequences", {}),
    ("templates", "templates", {}),
    ("traffic", "traffic", {"granularity": "hour"}),
    ("channels", "channels", {}),
    ("deliverability", "deliverability", {}),
    ("costs", "costs", {}),
    ("suppressions", "suppressions", {}),  # no range: the state as of now
]


@dataclass
class Cell:
    tenant: str  # "largest" / "median"
    tenant_id: str
    tenant_events: int
    zone: str
    range_name: str
    endpoint: str
    rollup: Timing
    raw: Timing
    kept: Timing
    statements: int
    equal: bool


def ranges(now: datetime, zone: str) -> list[tuple[str, dict[str, str]]]:
    """30 local days ending yesterday, as dates and as unaligned instants; and `30d`,
    ending now (the largest tenant has events after now)."""
    today = now.astimezone(ZoneInfo(zone)).date()
    first, last = today - timedelta(days=30), today - timedelta(days=1)
    return [
        ("30d dates", {"startDate": first.isoformat(), "endDate": last.isoformat()}),
        ("30d rfc3339", {"startDate": f"{first}T07:07:13.250Z",
                         "endDate": f"{last}T19:52:41.500Z"}),
        ("timeRange=30d", {"timeRange": "30d"}),
    ]


def pick_tenants(storage: Storage, wanted: list[str]) -> dict[str, tuple[str, int]]:
    ranked = storage.query_sync(
        "SELECT tenant_id, count() AS c FROM analytics_events GROUP BY tenant_id "
        "ORDER BY c DESC, tenant_id")
    chosen = {"largest": ranked[0], "median": ranked[len(ranked) // 2]}
    return {label: (str(chosen[label][0]), int(chosen[label][1])) for label in wanted}


async def run_cells(storage: Storage, meta: dict[str, Any], args: argparse.Namespace) -> list[Cell]:
    tenants = pick_tenants(storage, args.tenants_timed.split(","))
    now = datetime.fromtimestamp(meta["end_ms"] / 1000, UTC)
    keys = ",".join(f"tok-{label}={tenant}" for label, (tenant, _) in tenants.items())
    settings = load_settings({}, api_keys=keys)
    statements = [0]
    plain = storage.query

    async def counting(sql: str, params: Any = None) -> Any:
        statements[0] += 1
        return await plain(sql, params)

    storage.query = counting  # type: ignore[method-assign]
    served = create_app(settings, storage=storage, clock=lambda: now)
    twin = create_app(settings, storage=storage, clock=lambda: now,
                      engine=Engine(storage, RAW_TABLES))
    keeping = create_app(settings, storage=storage, clock=lambda: now,
                         versions=LocalVersions())
    cells: list[Cell] = []
    async with AsyncTestClient(served) as client, AsyncTestClient(twin) as raw_client, \
            AsyncTestClient(keeping) as kept_client:
        freeze_startup_objects()  # as `chanalytics serve` does once the app is up
        for label, (tenant, events) in tenants.items():
            headers = {"Authorization": f"Bearer tok-{label}"}
            for zone in args.zones.split(","):
                for range_name, window in ranges(now, zone):
                    for name, path, extra in ENDPOINTS:
                        if args.endpoints and name not in args.endpoints.split(","):
                            continue
                        params = {**window, **extra, "timezone": zone}
                        url = f"/api/v1/analytics/{path}"

                        async def call(c: Any = client, u: str = url,
                                       p: dict[str, str] = params,
                                       h: dict[str, str] = headers) -> Any:
                            response = await c.get(u, params=p, headers=h)
                            if response.status_code != 200:
                                raise RuntimeError(f"{u} {p}: {response.text[:300]}")
                            return response.json()

                        async def call_raw(u: str = url, p: dict[str, str] = params) -> Any:
                            return await call(raw_client, u, p)

                        async def call_kept(u: str = url, p: dict[str, str] = params) -> Any:
                            return await call(kept_client, u, p)

                        statements[0] = 0
                        served_answer = await call()
                        count = statements[0]
                        raw_answer = await call_raw()
                        kept_answer = await call_kept()
                        if path == "suppressions":  # a cursor holds its first page's instant
                            for answer in (served_answer, raw_answer, kept_answer):
                                answer["data"].pop("nextCursor", None)
                        equal = served_answer == raw_answer == kept_answer
                        cell = Cell(label, tenant, events, zone, range_name, name,
                                    await timed(call, args.reps),
                                    await timed(call_raw, args.raw_reps, warmups=1),
                                    await timed(call_kept, args.reps, warmups=0),
                                    count, equal)
                        cells.append(cell)
                        print(f"  {label:8} {zone:17} {range_name:14} {name:15} "
                              f"p50 {cell.rollup.p50:7.1f} p95 {cell.rollup.p95:7.1f} | raw "
                              f"p50 {cell.raw.p50:8.1f} | kept p95 {cell.kept.p95:5.1f} | "
                              f"{count} stmts"
                              f"{'' if equal else '  ANSWERS DIFFER'}", flush=True)
    storage.query = plain  # type: ignore[method-assign]
    return cells


def fixed_costs(storage: Storage) -> float:
    """p50 ms of `SELECT 1` through the storage client (the floor of any statement)."""
    samples = []
    for _ in range(50):
        t0 = time.perf_counter()
        storage.query_sync("SELECT 1")
        samples.append((time.perf_counter() - t0) * 1000)
    return Timing(samples).p50
