"""The delivery endpoints (`API-DELIVERY.md`) against the independent `delivery_oracle.py`,
on the events of the API contract test (demo providers, costs, durations, error codes and
bounce types; hand-made messages without a provider)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from api_events import FALL_NOW, build_events, store_events
from delivery_oracle import DeliveryOracle
from oracle import events_from
from test_api_contract import RANGES, api, bearer

from chanalytics.budgets import Budget, BudgetStore
from chanalytics.storage import Storage

pytestmark = pytest.mark.clickhouse

ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu")
FILTERS: dict[str, list[dict[str, str]]] = {
    "channels": [{}, {"channel": "email"}, {"provider": "twilio"}, {"provider": "unknown"},
                 {"limit": "3"}, {"channel": "sms", "provider": "vonage"}],
    "costs": [{}, {"channel": "whatsapp"}, {"provider": "ses", "limit": "2"},
              {"provider": "unknown"}, {"limit": "1"}],
}
# t_alpha's budget; t_beta has none (null).
BUDGETS = {"t_alpha": (Decimal("0.55"), "Europe/Berlin")}
GRAINS = ("hour", "day", "week", "month")


@pytest.fixture(scope="module")
async def delivery(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, DeliveryOracle]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build_events()
    await store_events(store, pairs)
    budgets = BudgetStore(store)
    for tenant, (amount, zone) in BUDGETS.items():
        await budgets.put(tenant, Budget(monthly_budget=float(amount), timezone=zone))
    yield store, DeliveryOracle(events_from(pairs), BUDGETS)
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


def _cases() -> Iterator[Any]:
    n = 0
    for zone in ZONES:
        for range_name, (window, _) in RANGES.items():
            for endpoint, variants in FILTERS.items():
                n += 1
                query = {**window, **variants[n % len(variants)], "timezone": zone,
                         "granularity": GRAINS[n % len(GRAINS)]}
                yield pytest.param(endpoint, range_name, query, ("t_alpha", "t_beta")[n % 2],
                                   id=f"{endpoint}-{zone}-{range_name}-{n}")


async def matches(storage: Storage, oracle: DeliveryOracle, endpoint: str, range_name: str,
                  query: dict[str, str], tenant: str) -> None:
    now = RANGES[range_name][1]
    status, expected = oracle.answer(endpoint, tenant, query, now)
    async with api(storage, now) as client:
        response = await client.get(f"/api/v1/analytics/{endpoint}", params=query,
                                    headers=bearer(tenant))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == expected
    else:
        assert response.json()["error"]["field"] == expected["field"]


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"), list(_cases()))
async def test_delivery_endpoint_matches_oracle(
    delivery: tuple[Storage, DeliveryOracle], endpoint: str, range_name: str,
    query: dict[str, str], tenant: str,
) -> None:
    await matches(*delivery, endpoint, range_name, query, tenant)


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"), list(_cases())[::5])
@pytest.mark.parametrize("compare", ["previous_period", "previous_year"])
async def test_delivery_compare_matches_oracle(
    delivery: tuple[Storage, DeliveryOracle], endpoint: str, range_name: str,
    query: dict[str, str], tenant: str, compare: str,
) -> None:
    await matches(*delivery, endpoint, range_name, {**query, "compare": compare}, tenant)


@pytest.mark.parametrize(("endpoint", "params", "field"), [
    ("channels", {"provider": "x" * 257}, "provider"),
    ("channels", {"channel": "fax"}, "channel"),
    ("channels", {"limit": "0"}, "limit"),
    ("channels", {"granularity": "minute"}, "granularity"),
])
async def test_bad_delivery_parameters_are_named(
    delivery: tuple[Storage, DeliveryOracle], endpoint: str, params: dict[str, str],
    field: str,
) -> None:
    async with api(delivery[0], RANGES["default"][1]) as client:
        response = await client.get(f"/api/v1/analytics/{endpoint}", params=params,
                                    headers=bearer("t_alpha"))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


# -- budgets ---------------------------------------------------------------------------

async def test_budget_put_get_delete(delivery: tuple[Storage, DeliveryOracle]) -> None:
    storage, _ = delivery
    async with api(storage, FALL_NOW) as client:
        headers = bearer("t_beta")
        missing = await client.get("/api/v1/analytics/budget", headers=headers)
        assert missing.status_code == 404 and missing.json()["success"] is False
        put = await client.put("/api/v1/analytics/budget", headers=headers,
                               content=b'{"monthlyBudget": 1500.25, "timezone": "asia/kathmandu"}')
        assert put.status_code == 200, put.text
        assert put.json() == {"monthlyBudget": 1500.25, "timezone": "Asia/Kathmandu"}
        assert (await client.get("/api/v1/analytics/budget", headers=headers)).json() == put.json()
        other = await client.get("/api/v1/analytics/budget", headers=bearer("t_alpha"))
        assert other.json()["monthlyBudget"] == 0.55  # each tenant its own
        again = await client.put("/api/v1/analytics/budget", headers=headers,
                                 content=b'{"monthlyBudget": 20}')
        assert again.json() == {"monthlyBudget": 20.0, "timezone": "UTC"}
    # Another API process (its own storage client) sees the same budget.
    second = Storage(storage.dsn, storage.database) if not storage.embedded else storage
    if second is not storage:
        second.connect()
    try:
        async with api(second, FALL_NOW) as client:
            seen = await client.get("/api/v1/analytics/budget", headers=headers)
            assert seen.json() == {"monthlyBudget": 20.0, "timezone": "UTC"}
            gone = await client.delete("/api/v1/analytics/budget", headers=headers)
            assert gone.status_code == 204
            costs = await client.get("/api/v1/analytics/costs", headers=headers)
            assert costs.json()["data"]["budget"] is None
            assert (await client.get("/api/v1/analytics/budget",
                                     headers=headers)).status_code == 404
    finally:
        if second is not storage:
            second.close()


@pytest.mark.parametrize(("body", "field"), [
    (b'{"monthlyBudget": 0}', "monthlyBudget"),
    (b'{"monthlyBudget": -5}', "monthlyBudget"),
    (b'{"monthlyBudget": 1e13}', "monthlyBudget"),
    (b'{"monthlyBudget": "100"}', "monthlyBudget"),
    (b'{"timezone": "UTC"}', "monthlyBudget"),
    (b'{"monthlyBudget": 100, "timezone": "Mars/Olympus"}', "timezone"),
    (b'{"monthlyBudget": 100, "currency": "EUR"}', "currency"),
    (b'not json', "body"),
    (b'[]', "body"),
])
async def test_bad_budget_bodies_are_named(delivery: tuple[Storage, DeliveryOracle],
                                           body: bytes, field: str) -> None:
    async with api(delivery[0], FALL_NOW) as client:
        response = await client.put("/api/v1/analytics/budget", headers=bearer("t_beta"),
                                    content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(("share", "status"), [
    (Decimal("0.5"), "ok"), (Decimal("0.8"), "75%"), (Decimal("0.95"), "90%"),
    (Decimal("1"), "exceeded"), (Decimal("3"), "exceeded")])
async def test_budget_status_thresholds(delivery: tuple[Storage, DeliveryOracle],
                                        share: Decimal, status: str) -> None:
    """A budget set so that this month's spend is `share` of it: the status and every
    number as the oracle computes them."""
    storage, oracle = delivery
    spent = oracle.answer("costs", "t_alpha", {}, FALL_NOW)[1]["data"]["budget"]["spent"]
    amount = (Decimal(repr(spent)) / share).quantize(Decimal("0.0001"))
    if share == 1:  # just used up (`spent` is rounded to 4 decimals)
        amount = Decimal(repr(spent)) - Decimal("0.0001")
    budgets = BudgetStore(storage)
    await budgets.put("t_alpha", Budget(monthly_budget=float(amount), timezone="Europe/Berlin"))
    try:
        probe = DeliveryOracle(oracle.events, {"t_alpha": (amount, "Europe/Berlin")})
        expected = probe.answer("costs", "t_alpha", {}, FALL_NOW)[1]["data"]["budget"]
        async with api(storage, FALL_NOW) as client:
            got = (await client.get("/api/v1/analytics/costs",
                                    headers=bearer("t_alpha"))).json()["data"]["budget"]
        assert got == expected and got["status"] == status
    finally:
        amount, zone = BUDGETS["t_alpha"]
        await budgets.put("t_alpha", Budget(monthly_budget=float(amount), timezone=zone))
