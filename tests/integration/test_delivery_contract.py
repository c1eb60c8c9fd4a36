"""The delivery endpoints (`API-DELIVERY.md`) against the independent `delivery_oracle.py`,
on the events of the API contract test (demo providers, costs, durations, error codes and
bounce types; hand-made messages without a provider)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from api_events import build_events, store_events
from delivery_oracle import DeliveryOracle
from oracle import events_from
from test_api_contract import RANGES, api, bearer

from chanalytics.storage import Storage

pytestmark = pytest.mark.clickhouse

ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu")
FILTERS: dict[str, list[dict[str, str]]] = {
    "channels": [{}, {"channel": "email"}, {"provider": "twilio"}, {"provider": "unknown"},
                 {"limit": "3"}, {"channel": "sms", "provider": "vonage"}],
}
GRAINS = ("hour", "day", "week", "month")


@pytest.fixture(scope="module")
async def delivery(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, DeliveryOracle]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build_events()
    await store_events(store, pairs)
    yield store, DeliveryOracle(events_from(pairs))
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
