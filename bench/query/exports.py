"""The report builder and a streamed export, for the largest tenant's 30 days (UTC).

The export goes through a real uvicorn server on loopback and a streaming httpx client
in the same process (the in-process test client buffers whole bodies), with the
process's resident memory sampled while it runs: rows/s and RSS growth.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from litestar.testing import AsyncTestClient

from bench.query.cells import pick_tenants
from bench.query.timing import Timing, timed
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

REPORT = {"metrics": ["sent", "deliveryRate", "opened", "totalCost", "avgDeliveryMs"],
          "dimensions": ["time:day", "channel", "provider"]}


@dataclass
class ExportResult:
    rows: int
    seconds: float
    megabytes: float
    rss_growth_mb: float
    anon_growth_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _memory() -> tuple[float, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["RssAnon"]


def _dates(meta: dict[str, Any]) -> dict[str, str]:
    today = datetime.fromtimestamp(meta["end_ms"] / 1000, UTC).date()
    return {"startDate": (today - timedelta(days=30)).isoformat(),
            "endDate": (today - timedelta(days=1)).isoformat()}


async def time_report(storage: Storage, meta: dict[str, Any], reps: int) -> tuple[Timing, int]:
    """POST /query, 3 dimensions and 5 metrics: timings and the rows of one answer."""
    tenant, _ = pick_tenants(storage, ["largest"])["largest"]
    now = datetime.fromtimestamp(meta["end_ms"] / 1000, UTC)
    app = create_app(load_settings({}, api_keys=f"tok={tenant}"), storage=storage,
                     clock=lambda: now)
    body = {**REPORT, **_dates(meta), "limit": 10000}
    rows = 0
    async with AsyncTestClient(app) as client:
        async def call() -> None:
            nonlocal rows
            response = await client.post("/api/v1/analytics/query", json=body,
                                         headers={"Authorization": "Bearer tok"})
            response.raise_for_status()
            rows = len(response.json()["data"]["rows"])
        return await timed(call, reps), rows


async def time_export(storage: Storage, meta: dict[str, Any]) -> ExportResult:
    """GET /events?format=csv of the largest tenant's 30 days, streamed to its end."""
    tenant, _ = pick_tenants(storage, ["largest"])["largest"]
    now = datetime.fromtimestamp(meta["end_ms"] / 1000, UTC)
    app = create_app(load_settings({}, api_keys=f"tok={tenant}"), storage=storage,
                     clock=lambda: now)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event to wait on  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    peak = list(_memory())
    base = tuple(peak)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, anon = _memory()
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], anon)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows, size = 0, 0
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=600) as client, client.stream(
                "GET", f"http://127.0.0.1:{port}/api/v1/analytics/events",
                params={**_dates(meta), "format": "csv"},
                headers={"Authorization": "Bearer tok"}) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                rows += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        done.set()
        server.should_exit = True
        await serving
    return ExportResult(rows - 1, seconds, size / 1e6, peak[0] - base[0], peak[1] - base[1])
