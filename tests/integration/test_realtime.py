"""`GET /realtime` against the independent `realtime_oracle.py`: the three windows at
their edges (to the millisecond) across the midnights of Kolkata (+05:30) and St John's
(-02:30), the channel filter, running campaigns, freshness, tenants kept apart, and bad
input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_events import Maker, Pair, store_events
from litestar.testing import AsyncTestClient
from oracle import Event, events_from
from realtime_oracle import local_midnight, realtime

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 10, 29, 3, 10, 0, 500000, tzinfo=UTC)
MS = timedelta(milliseconds=1)
TOKENS = {"tok-a": "t_a", "tok-b": "t_b", "tok-empty": "t_empty"}
ZONES = ("UTC", "Asia/Kolkata", "America/St_Johns")
URL = "/api/v1/analytics/realtime"


def build() -> list[Pair]:
    make = Maker("rt")
    edges = [NOW - timedelta(minutes=5), NOW - timedelta(hours=1),
             *(local_midnight(NOW, z) for z in ZONES), NOW - MS, NOW]
    instants = sorted({t + d for t in edges for d in (-MS, timedelta(0))}
                      | {NOW - timedelta(days=2), NOW + timedelta(minutes=1)})
    channels = ("email", "sms", "push", "whatsapp")
    for i, at in enumerate(instants):
        for tenant in ("t_a", "t_b"):
            ch = channels[i % 4]
            mid = f"m-{tenant}-{i}"
            base = {"contactId": f"c{i % 6}"} if i % 5 else {}
            cost = (0.00125, 0.0031, 0.00007)[i % 3]  # exact as decimals and as JSON
            make.message(tenant, at, "sent", mid, ch, cost=cost, **base)
            make.message(tenant, at, "delivered", mid, ch, durationMs=100 + 37 * i, **base)
            if i % 2:
                make.message(tenant, at, "opened", mid, ch, **base)
                make.message(tenant, at, "opened", mid, ch, **base)  # one message, once
            if i % 3 == 0:
                make.message(tenant, at, "clicked", mid, ch, **base)
            if i % 4 == 1:
                make.message(tenant, at, "failed", f"f-{tenant}-{i}", ch, errorCode="x")
    make.message("t_a", NOW - timedelta(minutes=2), "delivered", "m-nodur", "email")
    make.message("t_a", NOW - timedelta(minutes=2), "sent", "m-nocost", "email",
                 contactId="c_only_sent")
    day = timedelta(days=1)
    life = [("cmp_running", "started", NOW - 3 * day),
            ("cmp_done", "started", NOW - 3 * day), ("cmp_done", "completed", NOW - day),
            ("cmp_again", "started", NOW - 9 * day), ("cmp_again", "completed", NOW - 8 * day),
            ("cmp_again", "started", NOW - MS),
            ("cmp_later", "started", NOW), ("cmp_same", "started", NOW - day),
            ("cmp_same", "completed", NOW - day),
            ("cmp_ends_later", "started", NOW - day),
            ("cmp_ends_later", "completed", NOW + MS)]
    for cid, kind, at in life:
        make.add(f"campaign.{kind}", "t_a", at, campaignId=cid, channel="email")
    make.add("campaign.started", "t_b", NOW - day, campaignId="cmp_b")
    return make.pairs


@pytest.fixture(scope="module")
async def stored(clickhouse_dsn: str,
                 ) -> AsyncIterator[tuple[Storage, list[Event], datetime, datetime]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    before = datetime.now(UTC)
    pairs = build()
    await store_events(store, pairs)
    yield store, events_from(pairs), before, datetime.now(UTC)
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


async def ask(storage: Storage, token: str, **params: str) -> Any:
    keys = ",".join(f"{t}={tenant}" for t, tenant in TOKENS.items())
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                     clock=lambda: NOW)
    async with AsyncTestClient(app) as client:
        return await client.get(URL, params=params, headers={"Authorization": f"Bearer {token}"})


class TestRealtime:
    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize("channel", [None, "email", "sms"])
    async def test_numbers_match_the_oracle(self, stored: Any, zone: str,
                                            channel: str | None) -> None:
        """Each window's numbers, the running campaigns and asOf are the oracle's, in
        every zone and with a channel filter."""
        storage, events, _, _ = stored
        params = {"timezone": zone} | ({"channel": channel} if channel else {})
        answer = await ask(storage, "tok-a", **params)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        expected = realtime(events, "t_a", NOW, zone, channel)
        for name in ("last5Minutes", "lastHour", "today", "activeCampaigns", "asOf"):
            assert data[name] == expected[name], name
        assert data["activeCampaigns"] == 3  # running, again, ends_later

    async def test_freshness(self, stored: Any) -> None:
        """newestEventAt is the tenant's newest timestamp (a future one too), newestStoredAt
        when it was stored; a tenant without events has nulls; no NATS: no lag."""
        storage, events, before, after = stored
        fresh = (await ask(storage, "tok-b")).json()["data"]["freshness"]
        assert fresh["newestEventAt"] == realtime(events, "t_b", NOW)["newestEventAt"]
        stored_at = datetime.fromisoformat(fresh["newestStoredAt"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= stored_at <= after + timedelta(seconds=1)
        assert fresh["pipelineLagSeconds"] is None
        empty = (await ask(storage, "tok-empty")).json()["data"]
        assert empty["freshness"] == {"newestEventAt": None, "newestStoredAt": None,
                                      "pipelineLagSeconds": None}
        assert empty["today"]["sent"] == 0 and empty["activeCampaigns"] == 0
        assert empty["today"]["avgDeliveryMs"] is None

    async def test_tenants_are_apart(self, stored: Any) -> None:
        """t_b sees its own numbers and campaign only."""
        storage, events, _, _ = stored
        data = (await ask(storage, "tok-b", timezone="Asia/Kolkata")).json()["data"]
        expected = realtime(events, "t_b", NOW, "Asia/Kolkata")
        assert data["today"] == expected["today"]
        assert data["activeCampaigns"] == 1

    async def test_a_range_parameter_is_ignored(self, stored: Any) -> None:
        """timeRange/startDate are not parameters of /realtime: ignored, as elsewhere."""
        storage, _, _, _ = stored
        plain = (await ask(storage, "tok-a")).json()["data"]
        ranged = (await ask(storage, "tok-a", timeRange="bogus", startDate="x")).json()["data"]
        assert ranged["today"] == plain["today"]

    @pytest.mark.parametrize(("params", "field"), [
        ({"timezone": "Mars/Olympus"}, "timezone"), ({"channel": "fax"}, "channel")])
    async def test_bad_input_is_a_400_naming_the_field(self, stored: Any,
                                                       params: dict[str, str],
                                                       field: str) -> None:
        storage, _, _, _ = stored
        answer = await ask(storage, "tok-a", **params)
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == field

    async def test_no_token_is_a_401(self, stored: Any) -> None:
        storage, _, _, _ = stored
        assert (await ask(storage, "nope")).status_code == 401
