"""`GET /api-usage` counts exactly the requests a client made: every authenticated
analytics request once, by method and route template, with errors, their rate, mean and
p95 duration by the contract's rules (checked in plain Python against the durations as
stored), per local bucket; never another tenant's; and recording never fails a request,
even while storage refuses the writes."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from chanalytics.api.usage import UsageRecorder
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.metrics import ApiMetrics

pytestmark = pytest.mark.clickhouse

A, B = {"Authorization": "Bearer tok"}, {"Authorization": "Bearer other"}
PREFIX = "/api/v1/analytics"


def _half_up(value: Decimal | float, places: int) -> float:
    return float(Decimal(repr(value) if isinstance(value, float) else value).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _p95_bounds(samples: list[float]) -> tuple[float, float]:
    """API-DELIVERY.md: any v with 0.99 x[floor r] <= v <= 1.01 x[ceil r], r = 0.95 (n-1)."""
    x = sorted(samples)
    r = 0.95 * (len(x) - 1)
    return 0.99 * x[math.floor(r)], 1.01 * x[math.ceil(r)]


def _expected(made: list[tuple[str, str, int]], stored: list[tuple[str, str, int, int]]
              ) -> dict[str, Any]:
    """Per (method, route): requests and errors from what the test made; the mean from
    the stored microseconds (the contract's exact mean, 1 decimal)."""
    counts = Counter((m, r) for m, r, _ in made)
    errors = Counter((m, r) for m, r, s in made if s >= 400)
    micros: dict[tuple[str, str], list[int]] = {}
    for method, route, _, us in stored:
        micros.setdefault((method, route), []).append(us)
    return {key: {"requests": n, "errors": errors[key],
                  "errorRate": _half_up(Decimal(errors[key]) * 100 / n, 2),
                  "avgMs": _half_up(Decimal(sum(micros[key])) / 1000 / n, 1),
                  "samples": [us / 1000 for us in micros[key]]}
            for key, n in counts.items()}


async def test_counts_match_the_requests_made_and_no_other_tenants(storage: Storage) -> None:
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok=tenant_a,other=tenant_b"}),
                     storage=storage)
    made: list[tuple[str, str, int]] = []
    async with AsyncTestClient(app) as client:
        async def ask(method: str, path: str, route: str, headers: dict[str, str],
                      **kwargs: Any) -> None:
            response = await client.request(method, PREFIX + path, headers=headers, **kwargs)
            if headers is A:
                made.append((method, PREFIX + route, response.status_code))

        for _ in range(3):
            await ask("GET", "/overview", "/overview", A)
        await ask("GET", "/overview?timeRange=2y", "/overview", A)  # 400
        await ask("GET", "/campaigns", "/campaigns", A)
        await ask("GET", "/channels", "/channels", A)
        await ask("POST", "/query", "/query", A, json={"metrics": ["sent"], "timeRange": "7d"})
        await ask("POST", "/query", "/query", A, json={"metrics": ["nope"]})  # 400
        await ask("GET", "/budget", "/budget", A)
        for _ in range(4):  # another tenant's requests
            await ask("GET", "/overview", "/overview", B)
        # Not authenticated: not recorded.
        assert (await client.get(PREFIX + "/overview")).status_code == 401

        answer = await client.get(PREFIX + "/api-usage", headers=A)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        other = (await client.get(PREFIX + "/api-usage", headers=B)).json()["data"]

    assert any(s >= 400 for *_, s in made) and any(s < 400 for *_, s in made)
    stored = [(m, r, s, us) for m, r, s, us in storage.query_sync(
        "SELECT method, route, status, duration_us FROM api_requests "
        "WHERE tenant_id = 'tenant_a' ORDER BY at")]
    # The api-usage request itself is recorded after it answered: not in its own answer.
    stored = stored[:len(made)]
    assert sorted((m, r, s) for m, r, s, _ in stored) == sorted(made)

    expected = _expected(made, stored)
    got = {(e["method"], e["route"]): e for e in data["byEndpoint"]}
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        assert {k: row[k] for k in ("requests", "errors", "errorRate", "avgMs")} == {
            k: want[k] for k in ("requests", "errors", "errorRate", "avgMs")}
        low, high = _p95_bounds(want["samples"])
        assert low - 0.05 <= row["p95Ms"] <= high + 0.05
    order = [(-e["requests"], e["route"]) for e in data["byEndpoint"]]
    assert order == sorted(order)

    summary = data["summary"]
    errors = sum(1 for *_, s in made if s >= 400)
    assert summary["requests"] == len(made) and summary["errors"] == errors
    assert summary["errorRate"] == _half_up(Decimal(errors) * 100 / len(made), 2)
    assert summary["avgMs"] == _half_up(
        Decimal(sum(us for *_, us in stored)) / 1000 / len(made), 1)
    assert sum(p["requests"] for p in data["timeSeries"]) == len(made)
    assert sum(p["errors"] for p in data["timeSeries"]) == errors
    assert len(data["timeSeries"]) == 7  # `7d`: today and the 6 days before

    assert other["summary"]["requests"] == 4 and other["summary"]["errors"] == 0
    assert [(e["method"], e["route"]) for e in other["byEndpoint"]] == [
        ("GET", PREFIX + "/overview")]


async def test_buckets_follow_the_asked_zone(storage: Storage) -> None:
    """Requests at known instants land in the local day (and hour) that holds them."""
    metrics = ApiMetrics()
    recorder = UsageRecorder(storage, metrics)
    kolkata = ZoneInfo("Asia/Kolkata")
    instants = [datetime(2026, 11, 1, 18, 40, tzinfo=UTC),
                datetime(2026, 11, 1, 18, 20, tzinfo=UTC),
                datetime(2026, 11, 2, 3, 0, tzinfo=UTC)]
    for i, at in enumerate(instants):
        recorder.record("tenant_z", "GET", f"{PREFIX}/overview", 200 if i else 503, 0.01, at)
    await recorder.flush()
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "z=tenant_z"}), storage=storage)
    async with AsyncTestClient(app) as client:
        answer = await client.get(PREFIX + "/api-usage", headers={"Authorization": "Bearer z"},
                                  params={"startDate": "2026-11-01", "endDate": "2026-11-02",
                                          "timezone": "Asia/Kolkata"})
        hours = await client.get(PREFIX + "/api-usage", headers={"Authorization": "Bearer z"},
                                 params={"startDate": "2026-11-01", "endDate": "2026-11-02",
                                         "timezone": "Asia/Kolkata", "granularity": "hour"})
    assert answer.status_code == 200, answer.text
    days = {p["timestamp"]: (p["requests"], p["errors"])
            for p in answer.json()["data"]["timeSeries"]}
    assert len(days) == 2
    first, second = sorted(days)
    # 18:20 UTC is 23:50 on the 1st there; the 503 at 18:40 UTC is 00:10 on the 2nd.
    assert days[first] == (1, 0) and days[second] == (2, 1)
    series = hours.json()["data"]["timeSeries"]
    assert len(series) == 48 and sum(p["requests"] for p in series) == 3
    by_hour = {p["timestamp"]: p["requests"] for p in series if p["requests"]}
    want = Counter(at.astimezone(kolkata).replace(minute=0).astimezone(UTC) for at in instants)
    assert {datetime.fromisoformat(k.replace("Z", "+00:00")): v for k, v in by_hour.items()} == want


async def test_a_storage_outage_never_fails_a_request(storage: Storage) -> None:
    """A write that failed — here after storage stored it, the worst case — is kept and
    tried again under the same token: every request counted once."""
    metrics = ApiMetrics()
    recorder = UsageRecorder(storage, metrics)
    storage.insert_fault = lambda phase, target: target == "api_requests" and phase == "after"
    at = datetime(2026, 11, 5, 12, tzinfo=UTC)
    for i in range(5):
        recorder.record("tenant_o", "GET", f"{PREFIX}/overview", 200, 0.002,
                        at + timedelta(seconds=i))
    await recorder.flush()  # "failed": kept
    assert recorder.pending == 5
    storage.insert_fault = None
    await recorder.flush()
    await recorder.flush()
    assert recorder.pending == 0
    rows = storage.query_sync("SELECT count() FROM api_requests WHERE tenant_id = 'tenant_o'")
    assert rows[0][0] == 5

    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok=tenant_o"}), storage=storage)
    storage.insert_fault = lambda phase, target: target == "api_requests"
    async with AsyncTestClient(app) as client:
        for _ in range(3):  # answered while every usage write fails
            response = await client.get(PREFIX + "/api-usage", headers=A, params={
                "startDate": "2026-11-05", "endDate": "2026-11-05"})
            assert response.status_code == 200, response.text
    assert response.json()["data"]["summary"]["requests"] == 5
    assert recorder.pending == 0 and app.state.services.usage.pending == 3
