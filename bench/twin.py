"""Time requests through the real app beside a twin that reads only the raw table.

`time_beside_raw` asks each cell of one tenant through the app as served (no answer kept
between calls: every call asks ClickHouse) and through a twin whose engine may read only
`analytics_events` (`tables.RAW_TABLES`: a read model or rollup is replaced by its view's
definition over the raw table). The two answers must be equal; the table printed says so
per cell, beside both timings. Used by `audience_bench` and `campaign_bench`.

Engagement answers at the storage clock's second (`asOf`, and the cursor holds it): the
two apps may answer a second apart, so those two fields are left out of the comparison
(nothing is written during the bench, so the rest must agree).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from litestar.testing import AsyncTestClient

from bench.query.timing import pct, timed
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.query.engine import Engine
from chanalytics.query.tables import RAW_TABLES

# (name, path under /api/v1/analytics, query parameters)
Cell = tuple[str, str, Any]
HEADERS = {"Authorization": "Bearer tok"}


async def time_beside_raw(storage: Storage, tenant: str, now: datetime,
                          cells: Sequence[Cell], reps: int, raw_reps: int = 2) -> None:
    settings = load_settings({}, api_keys=f"tok={tenant}")
    served = create_app(settings, storage=storage, clock=lambda: now)  # nothing kept
    twin = create_app(settings, storage=storage, clock=lambda: now,
                      engine=Engine(storage, RAW_TABLES))
    print("| request | p50 ms | p95 ms | max ms | raw table p50 ms | answers |\n"
          "|---|---:|---:|---:|---:|---|")
    async with AsyncTestClient(served) as client, AsyncTestClient(twin) as raw_client:
        for name, path, params in cells:
            answer, times = await _timed(client, path, params, reps)
            raw_answer, raw_times = await _timed(raw_client, path, params, raw_reps)
            same = "equal" if _comparable(answer) == _comparable(raw_answer) else "**DIFFER**"
            print(f"| {name} | {statistics.median(times):.0f} | {pct(times, 95):.0f} | "
                  f"{max(times):.0f} | {statistics.median(raw_times):.0f} | {same} |",
                  flush=True)


async def _timed(client: Any, path: str, params: Any, reps: int) -> tuple[Any, list[float]]:
    """The last answer and the times of `reps` calls after two warm-ups, in milliseconds
    (`bench.query.timing.timed`)."""
    answers: list[Any] = []

    async def call() -> None:
        response = await client.get(f"/api/v1/analytics/{path}", params=params,
                                    headers=HEADERS)
        response.raise_for_status()
        answers.append(response.json())

    timing = await timed(call, reps, warmups=2)
    return answers[-1], timing.samples


def _comparable(answer: Any) -> Any:
    data = answer.get("data")
    if isinstance(data, dict):
        return {**answer, "data": {k: v for k, v in data.items()
                                   if k not in ("asOf", "nextCursor")}}
    return answer
