"""The read model of `GET /api-usage`: `api_requests`, one row per authenticated analytics
request (`api/usage.py` writes it; `clickhouse/schema/0037`).

Not a preset of the planner: its rows are requests, not events, and no rollup or view
holds them. One statement reads a tenant's window three ways at once (`GROUPING SETS`):
per (method, route), per UTC quarter hour (every zone's buckets are whole quarter hours, so
`presets/api_usage.py` adds them up into local buckets), and in total. Durations are
exact microseconds; percentiles are exact (`quantilesExactInclusive`: linear between the
two nearest samples, as API-DELIVERY.md's rule allows). Not kept by the answer cache: the
tenants' versions track stored events, not requests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from chanalytics.localtime import as_utc
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.sql import INSTANT, Params, Select

SOURCE = "api_requests"


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """Requests of one group: the measures the catalogue's API-usage metrics read."""

    requests: int
    errors: int
    request_ms_sum: Decimal
    latency: list[float] | None  # p50, p95, p99 in ms; None without requests

    def values(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors,
                "request_ms_sum": self.request_ms_sum, "latency": self.latency}


class UsageRows(msgspec.Struct, frozen=True, kw_only=True):
    total: UsageRow
    routes: list[tuple[str, str, UsageRow]]  # (method, route, row)
    quarters: list[tuple[datetime, int, int]]  # (UTC quarter-hour start, requests, errors)


EMPTY = UsageRow(requests=0, errors=0, request_ms_sum=Decimal(0), latency=None)


def usage_select(tenant_id: str, window: TimeWindow) -> tuple[str, dict[str, object]]:
    params = Params()
    select = Select(
        columns=["grouping(method, route, quarter)", "method", "route",
                 "toStartOfFifteenMinutes(at) AS quarter", "count()",
                 "countIf(status >= 400)", "sum(duration_us)",
                 "quantilesExactInclusive(0.5, 0.95, 0.99)(duration_us / 1000)"],
        source=SOURCE,
        where=["tenant_id = " + params.bind(tenant_id, "String"),
               "at >= " + params.bind(window.start, INSTANT),
               "at < " + params.bind(window.end, INSTANT)],
        group_by="GROUPING SETS ((method, route), (quarter), ())",
        settings=["force_grouping_standard_compatibility = 1"])
    return select.sql(), params.values


async def usage_rows(engine: Engine, tenant_id: str, window: TimeWindow) -> UsageRows:
    rows = await engine.read(tenant_id, *usage_select(tenant_id, window), keep=False)
    total, routes, quarters = EMPTY, [], []
    for bits, method, route, quarter, requests, errors, micros, levels in rows:
        row = UsageRow(requests=requests, errors=errors,
                       request_ms_sum=Decimal(micros) / 1000,
                       latency=[float(v) for v in levels] if requests else None)
        if bits == 0b001:  # (method, route): quarter aggregated away
            routes.append((method, route, row))
        elif bits == 0b110:  # (quarter)
            quarters.append((as_utc(quarter), requests, errors))
        elif requests:  # () — no row at all when the window holds no request
            total = row
    return UsageRows(total=total, routes=routes, quarters=quarters)
