"""`GET /campaigns/{campaignId}` and `GET /campaigns/compare` against the independent
`campaign_oracle.py`: every field, in zones with :30 offsets and a DST change, the channel
filter, machine and human opens, every device (unknown too), places without a city, links
ordered and cut, the lifecycle over all time, 404s, the comparison's order and zeros, and
bad input naming `campaignId`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_events import Maker, Pair, store_events
from campaign_oracle import CampaignOracle
from litestar.testing import AsyncTestClient
from oracle import change, events_from, previous, utc_text, window

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.query.engine import Engine
from chanalytics.query.tables import RAW_TABLES

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 10, 29, 3, 10, 0, 500000, tzinfo=UTC)
DAY = timedelta(days=1)
TOKENS = {"tok-a": "t_a", "tok-b": "t_b"}
URL = "/api/v1/analytics/campaigns"
AGENTS = (None, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148",
          "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", "Mozilla/5.0 (Linux; Android 14; "
          "TABLET)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "", "Bot MOBILE Tablet iPad")
PLACES: tuple[dict[str, Any] | None, ...] = (
    None, {"country": "DE", "city": "Berlin"}, {"country": "FR", "city": "Paris"},
    {"city": "Nowhere"}, {"country": "DE"}, {"country": "US", "city": "Austin"},
    {"country": "DE", "city": "Aachen"}, {"country": "DE", "city": None})
CHANNELS = ("email", "sms", "push", "whatsapp")


def _campaign_messages(make: Maker, tenant: str, cid: str, count: int, first: datetime,
                       step: timedelta) -> None:
    """`count` messages of `cid`: every outcome, repeated opens (machine and human), every
    device and kind of place, clicks on a dozen links with ties, contacts shared."""
    for i in range(count):
        at = first + i * step
        mid = f"m-{tenant}-{cid}-{i}"
        ch = CHANNELS[i % 4] if i % 5 else "email"
        src: dict[str, Any] = {"sourceType": "campaign", "sourceId": cid}
        if i % 6:
            src["contactId"] = f"c{i % 9}"
        make.message(tenant, at, "sent", mid, ch, **src,
                     **({"cost": (0.00125, 0.0031, 0.07)[i % 3]} if i % 7 else {}))
        if i % 8 == 3:
            make.message(tenant, at, "failed", mid, ch, errorCode="x", **src)
            continue
        if i % 8 == 5:
            make.message(tenant, at, "bounced", mid, ch, bounceType="hard", **src)
            continue
        make.message(tenant, at + timedelta(seconds=3), "delivered", mid, ch,
                     **src, **({"durationMs": 40 + 13 * i} if i % 4 else {}))
        if i % 3 == 0:
            continue
        reader: dict[str, Any] = {}
        if (agent := AGENTS[(i // 3) % len(AGENTS)]) is not None:
            reader["userAgent"] = agent
        if (place := PLACES[(i // 2) % len(PLACES)]) is not None:
            reader["geo"] = place
        if i % 4 in (1, 2):  # a privacy proxy opens first; a person too, later, sometimes
            make.message(tenant, at + timedelta(minutes=1), "opened", mid, ch,
                         machineOpen=True, **src)
            if i % 8 == 1:
                make.message(tenant, at + timedelta(hours=2), "opened", mid, ch,
                             machineOpen=False, **src, **reader)
        else:
            make.message(tenant, at + timedelta(minutes=30), "opened", mid, ch, **src, **reader)
            make.message(tenant, at + timedelta(hours=7), "opened", mid, ch, **src, **reader)
        if i % 2 == 0:
            url = f"https://shop.example/p{i % 12:02d}"
            make.message(tenant, at + timedelta(minutes=31), "clicked", mid, ch, url=url,
                         **src, **reader)
            if i % 10 == 0:  # the same message clicks again: clicks > uniqueClicks
                make.message(tenant, at + timedelta(minutes=32), "clicked", mid, ch,
                             url=url, **src)
        elif i % 3 == 1:
            make.message(tenant, at + timedelta(minutes=33), "clicked", mid, ch, **src)


def build() -> list[Pair]:
    make = Maker("camp")
    a, b = "t_a", "t_b"
    # cmp_big: renamed, started twice, completed twice; messages over the last 12 days,
    # every ~3h17m (so buckets of every zone get some), and a few 100 days ago.
    make.add("campaign.started", a, NOW - 20 * DAY, campaignId="cmp_big", name="Big sale",
             channel="email", recipientCount=500)
    make.add("campaign.started", a, NOW - 4 * DAY, campaignId="cmp_big", name="Big sale v2")
    make.add("campaign.completed", a, NOW - 3 * DAY, campaignId="cmp_big")
    make.add("campaign.completed", a, NOW - DAY, campaignId="cmp_big")
    _campaign_messages(make, a, "cmp_big", 90, NOW - 12 * DAY, timedelta(minutes=197))
    _campaign_messages(make, a, "cmp_big", 5, NOW - 100 * DAY, timedelta(hours=5))
    # 25 places with one open each, beyond the 20 shown; two links tied with the rest.
    for i in range(25):
        mid = f"m-geo-{i}"
        src = {"sourceType": "campaign", "sourceId": "cmp_geo", "contactId": f"g{i % 4}"}
        at = NOW - 2 * DAY + i * timedelta(minutes=17)
        make.message(a, at, "sent", mid, "email", **src)
        make.message(a, at, "delivered", mid, "email", **src)
        make.message(a, at, "opened", mid, "email", geo={"country": "IT", "city": f"City{i:02d}"},
                     **src)
        make.message(a, at, "clicked", mid, "email", url=f"https://l.example/{i % 14}", **src)
    # Ties of one open each: by country, then the place without a city first.
    for i, place in enumerate(({"country": "ES", "city": "Madrid"}, {"country": "ES"},
                               {"country": "AT", "city": "Wien"})):
        src = {"sourceType": "campaign", "sourceId": "cmp_geo"}
        make.message(a, NOW - DAY, "opened", f"m-geo-tie-{i}", "sms", geo=place, **src)
    _campaign_messages(make, a, "cmp_small", 14, NOW - 6 * DAY, timedelta(hours=9))
    make.add("campaign.started", a, NOW - 2 * DAY, campaignId="cmp_quiet")  # no messages
    make.add("campaign.completed", a, NOW + DAY, campaignId="cmp_quiet", name="Quiet")
    _campaign_messages(make, a, "cmp_old", 4, NOW - 200 * DAY, timedelta(hours=1))
    # Not campaign messages: a workflow's source id, a campaign source type without an id.
    make.message(a, NOW - DAY, "sent", "m-wf", "email", sourceType="workflow",
                 sourceId="cmp_ghost")
    make.message(a, NOW - DAY, "sent", "m-nosrc", "email", sourceType="campaign")
    # Tenant B: the same campaign id, other numbers; and a campaign A must never find.
    make.add("campaign.started", b, NOW - 5 * DAY, campaignId="cmp_big", name="B's big")
    _campaign_messages(make, b, "cmp_big", 30, NOW - 5 * DAY, timedelta(hours=3))
    make.add("campaign.started", b, NOW - 5 * DAY, campaignId="cmp_b_only", name="Secret")
    pairs = make.pairs
    return pairs + pairs[::11]  # some delivered twice


@pytest.fixture(scope="module")
async def stored(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, CampaignOracle]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build()
    await store_events(store, pairs)
    yield store, CampaignOracle(events_from(pairs), NOW)
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


async def ask(storage: Storage, path: str, params: Any = None, token: str = "tok-a",
              engine: Engine | None = None) -> Any:
    keys = ",".join(f"{t}={tenant}" for t, tenant in TOKENS.items())
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                     engine=engine, clock=lambda: NOW)
    async with AsyncTestClient(app) as client:
        return await client.get(f"{URL}{path}", params=params,
                                headers={"Authorization": f"Bearer {token}"})


def _ids(*ids: str) -> list[tuple[str, str]]:
    return [("campaignId", c) for c in ids]


CASES = [
    ("cmp_big", {}),
    ("cmp_big", {"timezone": "Asia/Kolkata", "granularity": "day"}),
    ("cmp_big", {"timezone": "America/St_Johns", "channel": "email", "timeRange": "7d"}),
    ("cmp_big", {"timezone": "Europe/Berlin", "startDate": "2026-10-20",
                 "endDate": "2026-10-27", "limit": "3"}),
    ("cmp_big", {"channel": "sms", "granularity": "week", "timezone": "Asia/Kathmandu"}),
    ("cmp_big", {"timeRange": "30d", "granularity": "month", "channel": "push"}),
    ("cmp_big", {"startDate": "2026-10-20T05:07:00+05:30", "endDate": "2026-10-24T21:59:59Z",
                 "timezone": "Asia/Kolkata", "limit": "1"}),
    ("cmp_geo", {"timeRange": "7d", "granularity": "day"}),
    ("cmp_geo", {"limit": "20", "granularity": "day"}),
    ("cmp_small", {"timeRange": "7d", "timezone": "Europe/Berlin"}),
    ("cmp_quiet", {"timeRange": "1d"}),
    ("cmp_old", {"granularity": "day"}),
]


class TestCampaign:
    @pytest.mark.parametrize(("cid", "params"), CASES)
    async def test_every_field_matches_the_oracle(self, stored: Any, cid: str,
                                                  params: dict[str, str]) -> None:
        storage, oracle = stored
        answer = await ask(storage, f"/{cid}", params)
        status, expected = oracle.campaign("t_a", cid, params)
        assert answer.status_code == status == 200, answer.text
        data = answer.json()["data"]
        for key in expected:
            assert data[key] == expected[key], key
        assert set(data) == set(expected)

    async def test_the_oracle_sees_what_the_events_hold(self, stored: Any) -> None:
        """The data covers what the contract tells apart: machine opens, every device,
        places without a city, repeated clicks, a cut list of places and links."""
        _, oracle = stored
        _, big = oracle.campaign("t_a", "cmp_big", {})
        o = big["overview"]
        assert o["humanOpened"] < o["opened"] and o["uniqueOpeners"] < o["opened"]
        assert o["avgDeliveryMs"] is not None and o["failed"] and o["bounced"]
        assert all(d["opens"] for d in big["devices"])
        assert any(p["city"] is None for p in big["geo"])
        assert any(link["clicks"] > link["uniqueClicks"] for link in big["topLinks"])
        assert big["campaign"]["startedAt"] == utc_text(NOW - 20 * DAY)
        assert big["campaign"]["completedAt"] == utc_text(NOW - DAY)
        _, places = oracle.campaign("t_a", "cmp_geo", {})
        assert len(places["geo"]) == 20 and len(places["topLinks"]) == 10

    async def test_a_lifecycle_alone_is_a_campaign_with_zeros(self, stored: Any) -> None:
        """Started and completed (in the future too), no message: found, counts zero."""
        storage, _ = stored
        data = (await ask(storage, "/cmp_quiet")).json()["data"]
        assert data["campaign"] == {"campaignId": "cmp_quiet", "name": "Quiet",
                                    "startedAt": utc_text(NOW - 2 * DAY),
                                    "completedAt": utc_text(NOW + DAY)}
        assert data["overview"]["sent"] == 0 and data["byChannel"] == []

    @pytest.mark.parametrize("cid", ["cmp_nope", "cmp_ghost", "cmp_b_only", "compares"])
    async def test_an_unknown_campaign_is_a_404(self, stored: Any, cid: str) -> None:
        """Never named by the tenant's events (a workflow's source id, another tenant's
        campaign): 404 with the error envelope."""
        storage, _ = stored
        answer = await ask(storage, f"/{cid}")
        assert answer.status_code == 404
        assert answer.json() == {"success": False, "error": {
            "code": "not_found", "message": f"no campaign '{cid}'"}}

    async def test_tenants_are_apart(self, stored: Any) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/cmp_big", {"timeRange": "7d"}, token="tok-b")
        assert answer.json()["data"] == oracle.campaign("t_b", "cmp_big", {"timeRange": "7d"})[1]
        assert answer.json()["data"]["campaign"]["name"] == "B's big"
        assert (await ask(storage, "/cmp_b_only", token="tok-a")).status_code == 404

    async def test_the_raw_table_alone_gives_the_same_answer(self, stored: Any) -> None:
        """The rollups the planner picks answer as the raw events do."""
        storage, _ = stored
        params = {"timeRange": "30d", "granularity": "day", "timezone": "UTC"}
        answers = [(await ask(storage, "/cmp_big", params, engine=engine)).json()
                   for engine in (Engine(storage), Engine(storage, RAW_TABLES))]
        assert answers[0] == answers[1]

    @pytest.mark.parametrize("mode", ["previous_period", "previous_year"])
    async def test_compare_changes_the_overview(self, stored: Any, mode: str) -> None:
        storage, oracle = stored
        params = {"timeRange": "7d", "timezone": "Europe/Berlin", "compare": mode}
        data = (await ask(storage, "/cmp_big", params)).json()["data"]
        now = oracle.campaign("t_a", "cmp_big", params)[1]
        berlin = ZoneInfo("Europe/Berlin")
        before_start, before_end = previous(*window(params, berlin, "90d", NOW), berlin, mode)
        before = oracle.campaign("t_a", "cmp_big", {
            **params, "startDate": utc_text(before_start), "endDate": utc_text(before_end)})[1]
        assert data["overview"] == now["overview"]
        assert data["comparison"]["overview"] == before["overview"]
        assert data["change"] == change(now["overview"], before["overview"])


class TestCompare:
    @pytest.mark.parametrize(("ids", "params"), [
        (("cmp_big", "cmp_small"), {}),
        (("cmp_small", "cmp_unknown", "cmp_big", "cmp_quiet"), {"channel": "email"}),
        (("cmp_old", "cmp_geo"), {"timeRange": "7d", "timezone": "Asia/Kolkata"}),
        (("cmp_b_only", "cmp_ghost", "cmp_big"), {"startDate": "2026-10-20",
                                                  "endDate": "2026-10-25"}),
        (tuple(f"cmp_{n}" for n in ("big", "small", "geo", "old", "quiet", "x1", "x2", "x3",
                                     "x4", "x5")), {"timeRange": "30d"}),
    ])
    async def test_matches_the_oracle_in_the_order_asked(self, stored: Any, ids: tuple[str, ...],
                                                         params: dict[str, str]) -> None:
        """In the order asked; an id without events (or another tenant's) has zeros."""
        storage, oracle = stored
        answer = await ask(storage, "/compare", [*_ids(*ids), *params.items()])
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data == oracle.compare("t_a", list(ids), params)
        assert [c["campaignId"] for c in data["campaigns"]] == list(ids)

    async def test_zeros_for_a_campaign_without_events(self, stored: Any) -> None:
        storage, _ = stored
        data = (await ask(storage, "/compare", _ids("cmp_big", "cmp_none"))).json()["data"]
        none = data["campaigns"][1]
        assert none["name"] is None and none["sent"] == 0 and none["openRate"] == 0.0
        assert none["avgDeliveryMs"] is None and none["totalCost"] == 0.0

    async def test_compare_adds_the_earlier_window(self, stored: Any) -> None:
        """With `compare`, the earlier window's campaigns; no summary, so no change."""
        storage, oracle = stored
        params = {"timeRange": "7d", "compare": "previous_period"}
        data = (await ask(storage, "/compare", [*_ids("cmp_big", "cmp_small"),
                                                *params.items()])).json()["data"]
        tz = ZoneInfo("UTC")
        start, end = previous(*window(params, tz, "90d", NOW), tz, "previous_period")
        before = oracle.compare("t_a", ["cmp_big", "cmp_small"], {
            "startDate": utc_text(start), "endDate": utc_text(end)})
        assert data["comparison"] == before and data["change"] == {}

    @pytest.mark.parametrize("params", [
        [], _ids("cmp_big"), _ids("cmp_big", "cmp_big"), _ids("a", "b", "a"),
        _ids(*(f"c{i}" for i in range(11))), _ids("cmp_big", "x" * 257), _ids("cmp_big", ""),
    ], ids=["none", "one", "repeated", "repeated-later", "eleven", "too-long", "empty"])
    async def test_bad_ids_are_a_400_naming_campaign_id(self, stored: Any,
                                                        params: list[tuple[str, str]]) -> None:
        storage, _ = stored
        answer = await ask(storage, "/compare", params)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["success"] is False and body["error"]["field"] == "campaignId"


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/cmp_big", {"channel": "fax"}, "channel"),
    ("/cmp_big", {"limit": "0"}, "limit"),
    ("/cmp_big", {"limit": "101"}, "limit"),
    ("/cmp_big", {"granularity": "minute"}, "granularity"),
    ("/cmp_big", {"timezone": "Mars/Olympus"}, "timezone"),
    ("/cmp_big", {"timeRange": "2d"}, "timeRange"),
    ("/cmp_big", {"compare": "yesterday"}, "compare"),
    ("/" + "x" * 257, {}, "campaignId"),
    ("/compare", [*_ids("a", "b"), ("channel", "fax")], "channel"),
    ("/compare", [*_ids("a", "b"), ("timeRange", "5d")], "timeRange"),
])
async def test_bad_parameters_are_named(stored: Any, path: str, params: Any,
                                        field: str) -> None:
    storage, _ = stored
    answer = await ask(storage, path, params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


async def test_the_list_keeps_its_path(stored: Any) -> None:
    """`GET /campaigns` is still the list; `/campaigns/compare` is never a campaign id."""
    storage, _ = stored
    listed = (await ask(storage, "", {"timeRange": "30d"})).json()["data"]
    assert {"summary", "topCampaigns", "timeSeries"} <= set(listed)
    compared = await ask(storage, "/compare", _ids("cmp_big", "cmp_small"))
    assert "campaigns" in compared.json()["data"]


async def test_no_token_is_a_401(stored: Any) -> None:
    storage, _ = stored
    assert (await ask(storage, "/cmp_big", token="nope")).status_code == 401
    assert (await ask(storage, "/compare", _ids("a", "b"), token="nope")).status_code == 401
