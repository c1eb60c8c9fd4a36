"""The delivery endpoints (`API-DELIVERY.md`) against the independent `delivery_oracle.py`,
on the events of the API contract test (demo providers, costs, durations, error codes and
bounce types; hand-made messages without a provider)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from api_events import FALL_NOW, Maker, Pair, build_events, store_events, utc
from delivery_oracle import DeliveryOracle, suppressions
from litestar.testing import AsyncTestClient
from modes import sample
from oracle import events_from
from test_api_contract import RANGES, TOKENS, api, bearer, matches_oracle

from chanalytics.app import create_app
from chanalytics.budgets import Budget, BudgetStore
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.query.engine import Engine
from chanalytics.query.tables import RAW_TABLES

pytestmark = pytest.mark.clickhouse

ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu")
FILTERS: dict[str, list[dict[str, str]]] = {
    "channels": [{}, {"channel": "email"}, {"provider": "twilio"}, {"provider": "unknown"},
                 {"limit": "3"}, {"channel": "sms", "provider": "vonage"}],
    "deliverability": [{}, {"channel": "email"}, {"limit": "2"}, {"channel": "push"}],
    "costs": [{}, {"channel": "whatsapp"}, {"provider": "ses", "limit": "2"},
              {"provider": "unknown"}, {"limit": "1"}],
}
# t_alpha's budget; t_beta has none (null).
BUDGETS = {"t_alpha": (Decimal("0.55"), "Europe/Berlin")}
GRAINS = ("hour", "day", "week", "month")


def suppression_events() -> list[Pair]:
    """Hand-made suppressing events: every reason, ties, two channels, ones that do not
    suppress (a soft bounce, no contact), and an earlier event stored after a later one."""
    make = Maker("supp")
    at = utc("2026-10-27T10:00:00Z")
    ch = {"channel": "email", "provider": "ses"}
    make.message("t_alpha", at, "complained", "m-s1", contactId="c_tie", **ch)
    make.message("t_alpha", at, "unsubscribed", "m-s2", contactId="c_tie", **ch)  # id later
    make.message("t_alpha", at, "bounced", "m-s3", contactId="c_two", bounceType="hard",
                 errorCode="550 5.1.1 user unknown", **ch)
    make.message("t_alpha", at + timedelta(hours=1), "unsubscribed", "m-s4", channel="sms",
                 contactId="c_two")
    make.message("t_alpha", at, "bounced", "m-s5", contactId="c_soft", bounceType="soft", **ch)
    make.message("t_alpha", at, "bounced", "m-s6", bounceType="hard", **ch)  # no contact
    make.message("t_alpha", at + timedelta(days=1), "complained", "m-s7", contactId="c_late",
                 **ch)
    make.message("t_alpha", at - timedelta(days=30), "unsubscribed", "m-s8",
                 contactId="c_late", **ch)  # earlier, stored after: the item's event
    make.message("t_beta", at, "complained", "m-s9", contactId="c_tie", **ch)
    return make.pairs


@pytest.fixture(scope="module")
async def delivery(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, DeliveryOracle]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build_events() + suppression_events()
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


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"), sample(list(_cases()), 4))
async def test_delivery_endpoint_matches_oracle(
    delivery: tuple[Storage, DeliveryOracle], endpoint: str, range_name: str,
    query: dict[str, str], tenant: str,
) -> None:
    await matches_oracle(*delivery, endpoint, range_name, query, tenant)


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"),
                         sample(list(_cases())[::5], 3))
@pytest.mark.parametrize("compare", ["previous_period", "previous_year"])
async def test_delivery_compare_matches_oracle(
    delivery: tuple[Storage, DeliveryOracle], endpoint: str, range_name: str,
    query: dict[str, str], tenant: str, compare: str,
) -> None:
    await matches_oracle(*delivery, endpoint, range_name, {**query, "compare": compare}, tenant)


@pytest.mark.parametrize(("endpoint", "params", "field"), [
    ("deliverability", {"channel": "pigeon"}, "channel"),
    ("deliverability", {"limit": "101"}, "limit"),
    ("costs", {"provider": ""}, "provider"),
    ("suppressions", {"reason": "bored"}, "reason"),
    ("suppressions", {"limit": "1001"}, "limit"),
    ("suppressions", {"contactId": "c" * 257}, "contactId"),
    ("suppressions", {"cursor": "bm9wZQ"}, "cursor"),
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
    every = await BudgetStore(storage).all()  # what an alert evaluator reads: one statement
    assert every["t_beta"] == Budget(monthly_budget=20.0) and "t_alpha" in every
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


# -- suppressions ----------------------------------------------------------------------

async def _pages(client: Any, tenant: str, params: dict[str, str],
                 between: Any = None) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/analytics/suppressions", params=query,
                                    headers=bearer(tenant))
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        items += data["items"]
        totals.append(data["total"])
        cursor = data["nextCursor"]
        if cursor is None:
            return items, totals
        if between is not None:
            await between()
            between = None


@pytest.mark.parametrize("params", [
    {}, {"limit": "4"}, {"channel": "email", "limit": "3"}, {"reason": "unsubscribe"},
    {"reason": "complaint", "limit": "1"}, {"contactId": "c_two"}, {"contactId": "nobody"},
    {"channel": "sms", "reason": "hard_bounce"}])
@pytest.mark.parametrize("tenant", ["t_alpha", "t_beta"])
async def test_suppressions_follow_the_cursors_to_every_item(
        delivery: tuple[Storage, DeliveryOracle], params: dict[str, str], tenant: str) -> None:
    storage, oracle = delivery
    expected = [i for i in suppressions([e for e in oracle.events if e.tenant == tenant])
                if all(i[k] == params[k] for k in ("channel", "reason", "contactId")
                       if k in params)]
    async with api(storage, FALL_NOW) as client:
        items, totals = await _pages(client, tenant, params)
    assert items == expected
    assert set(totals) == {len(expected)}


async def test_suppression_pages_hold_still_while_events_arrive(clickhouse_dsn: str) -> None:
    """Between the first and second page: a new contact is suppressed and a listed contact
    gets an earlier suppressing event. The pages still give the first page's state, each
    item once; a new first page shows the new state."""
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    try:
        make = Maker("live")
        at = utc("2026-10-20T10:00:00Z")
        for i in range(9):
            make.message("t_alpha", at + timedelta(hours=i), "unsubscribed", f"m-{i}",
                         "email", contactId=f"c_{i}")
        await store_events(store, make.pairs)
        before = suppressions(events_from(make.pairs))
        later = Maker("late")
        later.message("t_alpha", at + timedelta(days=3), "complained", "m-new", "email",
                      contactId="c_new")
        later.message("t_alpha", at - timedelta(days=3), "complained", "m-old", "email",
                      contactId="c_8")  # c_8 was first; now it would be last

        async def arrive() -> None:
            await store_events(store, later.pairs)

        async with api(store, FALL_NOW) as client:
            items, totals = await _pages(client, "t_alpha", {"limit": "2"}, between=arrive)
            assert items == before and set(totals) == {9}
            fresh, _ = await _pages(client, "t_alpha", {"limit": "100"})
        assert fresh == suppressions(events_from(make.pairs + later.pairs))
        assert fresh[0]["contactId"] == "c_new" and fresh[-1]["contactId"] == "c_8"
    finally:
        store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
        store.close()


@pytest.mark.parametrize(("endpoint", "params"), [
    ("channels", {"timeRange": "30d", "timezone": "Asia/Kathmandu", "granularity": "hour"}),
    ("deliverability", {"timeRange": "90d", "timezone": "Europe/Berlin"}),
    ("costs", {"startDate": "2026-10-20T07:07:13.250Z", "endDate": "2026-10-28"}),
    ("suppressions", {"limit": "5"}),
])
async def test_the_rollups_answer_as_the_raw_table_does(
        delivery: tuple[Storage, DeliveryOracle], endpoint: str, params: dict[str, str]) -> None:
    """Rollups and read models against an engine that reads only `analytics_events`:
    the same answers (sketches merge exactly, so percentiles too)."""
    storage, _ = delivery
    keys = ",".join(f"{token}={tenant}" for token, tenant in TOKENS.items())
    answers = []
    for engine in (Engine(storage), Engine(storage, RAW_TABLES)):
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                         engine=engine, clock=lambda: FALL_NOW)
        async with AsyncTestClient(app) as client:
            response = await client.get(f"/api/v1/analytics/{endpoint}", params=params,
                                        headers=bearer("t_alpha"))
        assert response.status_code == 200, response.text
        answers.append(response.json())
    if endpoint == "suppressions":  # cursors carry the instant of their first page
        for answer in answers:
            answer["data"].pop("nextCursor")
    assert answers[0] == answers[1]
