"""`GET /api-usage`: the tenant's own requests to the analytics API, in total, per
endpoint and over time, from the `api_requests` read model (`query/usage.py`)."""

from __future__ import annotations

import bisect
from datetime import datetime

import msgspec

from chanalytics.query.clock import bucket_bounds
from chanalytics.query.engine import Engine
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.usage import UsageRow, usage_rows

# The answer's fields and the catalogue entries they hold (`avgMs` and `p95Ms` here are
# request latencies, not the delivery latencies `metrics.FIELDS` maps those names to).
_DERIVED = {"error_rate": "errorRate", "avg_ms": "avgRequestMs", "p95_ms": "p95RequestMs"}


class UsageSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    requests: int
    errors: int
    error_rate: float
    avg_ms: float | None
    p95_ms: float | None


class EndpointUsage(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    method: str
    route: str  # the route template, as `/api/v1/analytics/campaigns/{campaignId}`
    requests: int
    errors: int
    error_rate: float
    avg_ms: float | None
    p95_ms: float | None


class UsagePoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    requests: int
    errors: int


class ApiUsageData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: UsageSummary
    by_endpoint: list[EndpointUsage]
    time_series: list[UsagePoint]


def _numbers(row: UsageRow) -> dict[str, object]:
    return {"requests": row.requests, "errors": row.errors,
            **metric_values(row.values(), **_DERIVED)}


async def api_usage(engine: Engine, request: QueryRequest) -> ApiUsageData:
    """Requests, errors (status ≥ 400), their rate, mean and p95 duration; per (method,
    route) by requests desc, then route; per local bucket, zero-filled."""
    bounds = bucket_bounds(request.window, request.granularity)
    rows = await usage_rows(engine, request.tenant_id, request.window)
    series = [[0, 0] for _ in bounds[:-1]]
    for quarter, requests, errors in rows.quarters:
        slot = series[max(0, bisect.bisect_right(bounds, quarter) - 1)]
        slot[0] += requests
        slot[1] += errors
    ranked = sorted(rows.routes, key=lambda r: (-r[2].requests, r[1], r[0]))
    return ApiUsageData(
        time_range=TimeRange.of(request.window),
        summary=UsageSummary(**_numbers(rows.total)),  # type: ignore[arg-type]
        by_endpoint=[EndpointUsage(method=method, route=route, **_numbers(row))  # type: ignore[arg-type]
                     for method, route, row in ranked],
        time_series=[UsagePoint(timestamp=start, requests=r, errors=e)
                     for start, (r, e) in zip(bounds, series, strict=False)],
    )
