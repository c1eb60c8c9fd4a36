"""Every analytics endpoint against an independent oracle of API.md, over real ClickHouse.

The events of `api_events.py` are stored once per module, in a database of the
module's own, through the real ingest path (`map_event` + `BatchWriter`). Each case
then compares an endpoint's full response with what `oracle.py` computes from the
same events in plain Python.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from api_events import FALL_NOW, SPRING_NOW, Maker, build_events, store_events, utc
from litestar import Litestar
from litestar.testing import AsyncTestClient
from modes import sample
from oracle import Oracle, events_from

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage, StorageUnavailable
from chanalytics.config import load_settings
from chanalytics.versions import LocalVersions

pytestmark = pytest.mark.clickhouse

TOKENS = {"tok-alpha": "t_alpha", "tok-beta": "t_beta"}


@pytest.fixture(scope="module")
async def loaded(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, Oracle]]:
    """A database of this module's own, holding the events; and the oracle over them."""
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build_events()
    await store_events(store, pairs)
    yield store, Oracle(events_from(pairs))
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


@asynccontextmanager
async def api(storage: Storage, now: datetime) -> AsyncIterator[AsyncTestClient[Any]]:
    """A fresh app at this `now`: for tests that look at an app's own state."""
    keys = ",".join(f"{token}={tenant}" for token, tenant in TOKENS.items())
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                     clock=lambda: now)
    async with AsyncTestClient(app) as client:
        yield client


class MovableClock:
    """The shared apps' clock, moved to each case's `now` before its request."""

    def __init__(self) -> None:
        self.now = FALL_NOW

    def __call__(self) -> datetime:
        return self.now


_SHARED: dict[str, tuple[Litestar, MovableClock]] = {}


@asynccontextmanager
async def shared_api(storage: Storage, now: datetime) -> AsyncIterator[AsyncTestClient[Any]]:
    """One app per database for the oracle cases: a build costs ~47 ms and there are
    ~1,300 cases. Answers depend only on the request, the data and the clock, so the
    app is the same for every case. It keeps answers (the data does not change), so
    every case is answered by a fresh read and by a kept one."""
    if storage.database not in _SHARED:
        keys = ",".join(f"{token}={tenant}" for token, tenant in TOKENS.items())
        clock = MovableClock()
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                         clock=clock, versions=LocalVersions())
        _SHARED[storage.database] = (app, clock)
    app, clock = _SHARED[storage.database]
    clock.now = now
    async with AsyncTestClient(app) as client:
        yield client


def bearer(tenant: str) -> dict[str, str]:
    token = next(t for t, name in TOKENS.items() if name == tenant)
    return {"Authorization": f"Bearer {token}"}


# -- the cases -------------------------------------------------------------------------

QUIET_NOW = datetime(2026, 4, 5, 7, 31, 12, 345000, tzinfo=UTC)  # no event after it that day
ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns")
RANGES: dict[str, tuple[dict[str, str], datetime]] = {
    "dates": ({"startDate": "2026-03-25", "endDate": "2026-03-31"}, SPRING_NOW),
    # UTC midnights as instants: whole UTC days in every zone, local hours off them
    "utc-midnights": ({"startDate": "2026-03-24T00:00:00Z", "endDate": "2026-03-31T00:00:00Z"},
                      SPRING_NOW),
    "datetimes": ({"startDate": "2026-10-20T07:07:13.250Z",
                   "endDate": "2026-10-28T19:52:41.5+02:00"}, FALL_NOW),
    "preset7d": ({"timeRange": "7d"}, SPRING_NOW),
    "preset30d": ({"timeRange": "30d"}, FALL_NOW),
    "default": ({}, FALL_NOW),
    "long": ({"startDate": "2026-03-01", "endDate": "2026-11-30"}, FALL_NOW),
    # after the spring events end: widened to the end of the day, reading no raw slice
    "preset7d-quiet": ({"timeRange": "7d"}, QUIET_NOW),
    # events later that day, none in now's bucket: widened to whole buckets only
    "preset7d-midday": ({"timeRange": "7d"}, datetime(2026, 4, 4, 12, 7, 30, tzinfo=UTC)),
    "to-quiet-instant": ({"startDate": "2026-03-28", "endDate": "2026-04-05T07:31:12.345Z"},
                         QUIET_NOW),
    "tiny": ({"startDate": "2026-03-29T00:52:30.5Z", "endDate": "2026-03-29T01:07:00Z"},
             SPRING_NOW),
    "inside": ({"startDate": "2026-10-25T01:01:00Z", "endDate": "2026-10-25T01:14:00Z"},
               FALL_NOW),
}
FILTERS: dict[str, list[dict[str, str]]] = {
    "overview": [{}, {"channel": "email"}],
    "messages": [{}, {"channel": "sms"}, {}],
    "campaigns": [{}, {"channel": "email", "limit": "3"}, {"campaignId": "cmp_renamed"}],
    "workflows": [{}, {"workflowId": "wf_2", "limit": "2"}, {"limit": "100"}],
    "sequences": [{}, {"sequenceId": "seq_3"}, {"limit": "2"}],
    "templates": [{"minUsage": "5"}, {"channel": "email", "limit": "3", "minUsage": "0"}, {},
                  {"templateId": "tpl_anon", "minUsage": "1"}],
    "traffic": [{}, {"channel": "push"}],
}
SERIES = ("messages", "campaigns", "workflows", "traffic")


def _cases() -> Iterator[Any]:
    n = 0
    for zone in ZONES:
        for range_name, (window, _) in RANGES.items():
            for endpoint, variants in FILTERS.items():
                grains = ("hour", "day", "week", "month") if endpoint in SERIES else (None,)
                for grain in grains:
                    n += 1
                    query = {**window, **variants[n % len(variants)]}
                    if zone != "UTC" or n % 2:
                        query["timezone"] = zone
                    if grain is not None:
                        query["granularity"] = grain
                    tenant = ("t_alpha", "t_beta")[n % 2]
                    yield pytest.param(endpoint, range_name, query, tenant,
                                       id=f"{endpoint}-{zone}-{range_name}-{grain or 'na'}-{n}")


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"), sample(list(_cases()), 5))
async def test_endpoint_matches_oracle(
    loaded: tuple[Storage, Oracle], endpoint: str, range_name: str, query: dict[str, str],
    tenant: str,
) -> None:
    """The endpoint's whole answer equals the oracle's reading of API.md."""
    await matches_oracle(*loaded, endpoint, range_name, query, tenant)


async def matches_oracle(storage: Storage, oracle: Oracle, endpoint: str, range_name: str,
                         query: dict[str, str], tenant: str) -> None:
    now = RANGES[range_name][1]
    status, expected = oracle.answer(endpoint, tenant, query, now)
    async with shared_api(storage, now) as client:
        response = await client.get(f"/api/v1/analytics/{endpoint}", params=query,
                                    headers=bearer(tenant))
        cache = client.app.state.services.engine.cache
        hits = cache.hits
        again = await client.get(f"/api/v1/analytics/{endpoint}", params=query,
                                 headers=bearer(tenant))
    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        assert body == expected
        assert again.json() == expected  # from the kept reads
        assert cache.hits > hits
    else:
        assert body["success"] is False
        assert body["error"]["field"] == expected["field"]
        assert body["error"]["code"] == expected["code"]


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"),
                         sample(list(_cases())[::7], 3))
@pytest.mark.parametrize("compare", ["previous_period", "previous_year"])
async def test_compare_matches_oracle(
    loaded: tuple[Storage, Oracle], endpoint: str, range_name: str, query: dict[str, str],
    tenant: str, compare: str,
) -> None:
    """With `compare` (every 7th case, both modes), the answer gains the previous window's
    answer and the change of every summary number, as the oracle reads the common rules."""
    await matches_oracle(*loaded, endpoint, range_name, {**query, "compare": compare}, tenant)


async def test_berlin_week_over_the_spring_change_compares_with_seven_local_days(
        loaded: tuple[Storage, Oracle]) -> None:
    """23-29 March 2026 in Berlin (167 hours, 167 hour buckets) compares with 16-22 March,
    the seven whole local days before it (168 hours and buckets), not with 167 hours
    starting at 01:00."""
    storage, oracle = loaded
    query = {"startDate": "2026-03-23", "endDate": "2026-03-29", "timezone": "Europe/Berlin",
             "granularity": "hour", "compare": "previous_period"}
    status, expected = oracle.answer("messages", "t_alpha", query, SPRING_NOW)
    before = expected["data"]["comparison"]
    assert before["timeRange"] == {"start": "2026-03-15T23:00:00Z",
                                   "end": "2026-03-22T23:00:00Z"}
    assert (len(expected["data"]["timeSeries"]), len(before["timeSeries"])) == (167, 168)
    async with api(storage, SPRING_NOW) as client:
        response = await client.get("/api/v1/analytics/messages", params=query,
                                    headers=bearer("t_alpha"))
    assert (response.status_code, response.json()) == (status, expected)


async def test_unknown_compare_is_400(loaded: tuple[Storage, Oracle]) -> None:
    storage, _ = loaded
    async with api(storage, FALL_NOW) as client:
        response = await client.get("/api/v1/analytics/overview", params={"compare": "lastweek"},
                                    headers=bearer("t_alpha"))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "compare"


# -- another insert path ---------------------------------------------------------------

@pytest.fixture(scope="module")
async def copied(loaded: tuple[Storage, Oracle],
                 clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, Oracle]]:
    """The same events put into a fresh database by one plain `INSERT … SELECT` (as a
    backfill or the bench's load does), not by the ingest writer: every rollup and key
    table is filled by its view alone."""
    source, oracle = loaded
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    await store.command(
        f"INSERT INTO `{store.database}`.analytics_events "  # noqa: S608
        f"SELECT * FROM `{source.database}`.analytics_events")
    yield store, oracle
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


@pytest.mark.parametrize(("endpoint", "range_name", "query", "tenant"),
                         sample(list(_cases())[::9], 3))
async def test_insert_select_path_matches_oracle(
    copied: tuple[Storage, Oracle], endpoint: str, range_name: str, query: dict[str, str],
    tenant: str,
) -> None:
    """Loaded by INSERT … SELECT, every answer still equals the oracle's."""
    await matches_oracle(*copied, endpoint, range_name, query, tenant)


# -- tenants -------------------------------------------------------------------------

ENDPOINTS = tuple(FILTERS)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


class TestTenants:
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    async def test_tenant_sees_only_its_own_data(
        self, loaded: tuple[Storage, Oracle], endpoint: str
    ) -> None:
        """Tenant A's answers name none of tenant B's ids or names and count only A's events,
        whatever tenant a parameter claims."""
        storage, oracle = loaded
        query = {"startDate": "2026-03-01", "endDate": "2026-11-30", "limit": "100",
                 "minUsage": "0", "granularity": "day", "tenantId": "t_beta",
                 "tenant_id": "t_beta"}
        async with api(storage, FALL_NOW) as client:
            mine = await client.get(f"/api/v1/analytics/{endpoint}", params=query,
                                    headers=bearer("t_alpha"))
            theirs = await client.get(f"/api/v1/analytics/{endpoint}", params=query,
                                      headers=bearer("t_beta"))
        assert mine.status_code == theirs.status_code == 200
        text = " ".join(_strings(mine.json()))
        assert "beta" not in text.lower()
        assert "beta" in " ".join(_strings(theirs.json())).lower() or endpoint in (
            "overview", "messages", "traffic")
        assert mine.json() == oracle.answer(endpoint, "t_alpha", query, FALL_NOW)[1]
        assert mine.json() != theirs.json()

    @pytest.mark.parametrize("header", [
        None, "Bearer", "Bearer ", "Bearer nope", "Basic tok-alpha", "tok-alpha",
        "Bearer tok-alpha-x", "Bearer tok-alph",
    ])
    async def test_missing_or_unknown_token_is_401(
        self, loaded: tuple[Storage, Oracle], header: str | None
    ) -> None:
        """No token, another scheme or an unknown token answers 401 in the error envelope."""
        storage, _ = loaded
        headers = {} if header is None else {"Authorization": header}
        async with api(storage, FALL_NOW) as client:
            for endpoint in ENDPOINTS:
                response = await client.get(f"/api/v1/analytics/{endpoint}", headers=headers)
                assert response.status_code == 401
                body = response.json()
                assert body["success"] is False
                assert body["error"]["code"] == "unauthorized"
                assert body["error"]["message"]


# -- operations ------------------------------------------------------------------------

class TestOperations:
    async def test_latency_is_recorded_per_endpoint(
        self, loaded: tuple[Storage, Oracle]
    ) -> None:
        """Each request is timed under its endpoint and status."""
        storage, _ = loaded
        async with api(storage, FALL_NOW) as client:
            await client.get("/api/v1/analytics/traffic", headers=bearer("t_alpha"))
            await client.get("/api/v1/analytics/traffic?channel=fax", headers=bearer("t_alpha"))
            text = (await client.get("/metrics")).text
        assert 'chanalytics_api_request_seconds_count{endpoint="traffic",status="200"} 1.0' in text
        assert 'chanalytics_api_request_seconds_count{endpoint="traffic",status="400"} 1.0' in text

    async def test_query_is_logged(self, loaded: tuple[Storage, Oracle]) -> None:
        """A query logs `query.executed` with tenant, type, range, granularity and duration."""
        from structlog.testing import capture_logs

        storage, _ = loaded
        async with api(storage, FALL_NOW) as client:
            with capture_logs() as logs:
                await client.get("/api/v1/analytics/messages?granularity=week&timezone=Asia/"
                                 "Kathmandu", headers=bearer("t_beta"))
        [event] = [e for e in logs if e["event"] == "query.executed"]
        assert event["tenant_id"] == "t_beta"
        assert event["query_type"] == "messages"
        assert event["granularity"] == "week"
        assert event["timezone"] == "Asia/Kathmandu"
        assert event["end"] == "2026-10-29T08:05:00.007Z"
        assert event["start"] == "2026-10-22T18:15:00Z"
        assert event["duration_ms"] > 0



class TestOutage:
    async def test_unreachable_storage_is_503(self) -> None:
        """With ClickHouse unreachable, every endpoint answers 503 in the error envelope."""
        storage = Storage("http://127.0.0.1:9", "absent")  # nothing listens on port 9
        with pytest.raises(StorageUnavailable):
            storage.connect()
        try:
            async with api(storage, FALL_NOW) as client:
                for endpoint in ENDPOINTS:
                    response = await client.get(f"/api/v1/analytics/{endpoint}",
                                                headers=bearer("t_alpha"))
                    assert response.status_code == 503
                    assert response.json() == {"success": False, "error": {
                        "code": "storage_unavailable",
                        "message": "analytics storage is not reachable"}}
        finally:
            storage.close()

    async def test_failing_storage_is_503(self, storage: Storage) -> None:
        """A storage that answered and then refuses queries gives 503, never 500."""
        async with api(storage, FALL_NOW) as client:
            ok = await client.get("/api/v1/analytics/overview", headers=bearer("t_alpha"))
            for table in ("message_counts_15m", "message_counts_1d"):  # whichever it reads
                await storage.command(f"DROP TABLE {table}")
            failed = await client.get("/api/v1/analytics/overview", headers=bearer("t_alpha"))
        assert ok.status_code == 200
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "storage_unavailable"


class TestWorkedExample:
    """A few events whose answers are worked out by hand, as a reader would from API.md."""

    @staticmethod
    async def _store(storage: Storage) -> None:
        make = Maker()
        t, c1 = "t_alpha", {"sourceType": "campaign", "sourceId": "c1", "contactId": "k1"}
        make.add("campaign.started", t, utc("2026-01-20T09:00:00Z"), campaignId="c1",
                 name="Winter")
        make.message(t, utc("2026-01-20T10:00:00Z"), "sent", "m1", "email", **c1)
        make.message(t, utc("2026-01-20T10:00:05Z"), "delivered", "m1", "email", **c1)
        make.message(t, utc("2026-01-20T11:00:00Z"), "opened", "m1", "email", **c1)
        make.message(t, utc("2026-01-21T09:00:00Z"), "opened", "m1", "email", **c1)
        make.message(t, utc("2026-01-21T09:01:00Z"), "clicked", "m1", "email", **c1)
        make.message(t, utc("2026-01-20T23:59:59.999Z"), "sent", "m2", "sms", **c1)
        make.message(t, utc("2026-01-21T00:00:00Z"), "delivered", "m2", "sms", **c1)
        make.message(t, utc("2026-01-21T12:00:00Z"), "sent", "m3", "email")
        make.message(t, utc("2026-01-21T12:00:01Z"), "bounced", "m3", "email")
        make.add("campaign.completed", t, utc("2026-01-21T13:00:00Z"), campaignId="c1",
                 name="Winter sale")
        make.add("campaign.started", t, utc("2026-01-21T08:00:00Z"), campaignId="c2")
        make.message(t, utc("2026-01-22T00:00:00Z"), "sent", "m4", "push")  # after the range
        await store_events(storage, make.pairs + make.pairs[:3])

    async def test_counts_by_hand(self, storage: Storage) -> None:
        """Distinct opens, per-day buckets, rates and the campaign channel filter."""
        await self._store(storage)
        days = {"startDate": "2026-01-20", "endDate": "2026-01-21"}
        async with api(storage, FALL_NOW) as client:
            overview = (await client.get("/api/v1/analytics/overview", params=days,
                                         headers=bearer("t_alpha"))).json()["data"]
            messages = (await client.get("/api/v1/analytics/messages", params=days,
                                         headers=bearer("t_alpha"))).json()["data"]
            campaigns = (await client.get(
                "/api/v1/analytics/campaigns", params={**days, "channel": "email"},
                headers=bearer("t_alpha"))).json()["data"]
        assert overview == {
            "timeRange": {"start": "2026-01-20T00:00:00Z", "end": "2026-01-22T00:00:00Z"},
            "summary": {"totalMessagesSent": 3, "totalDelivered": 2, "totalOpened": 1,
                        "totalClicked": 1, "deliveryRate": 66.67, "openRate": 50.0,
                        "clickRate": 50.0},
            "byChannel": {"email": {"sent": 2, "delivered": 1, "opened": 1, "clicked": 1},
                          "sms": {"sent": 1, "delivered": 1, "opened": 0, "clicked": 0}},
            "trend": [{"date": "2026-01-20", "sent": 2, "delivered": 1},
                      {"date": "2026-01-21", "sent": 1, "delivered": 1}],
        }
        assert messages["summary"] == {"sent": 3, "delivered": 2, "opened": 1, "clicked": 1,
                                       "bounced": 1, "complained": 0, "unsubscribed": 0,
                                       "failed": 0}
        assert messages["timeSeries"] == [
            {"timestamp": "2026-01-20T00:00:00Z", "sent": 2, "delivered": 1, "opened": 1,
             "clicked": 0},
            {"timestamp": "2026-01-21T00:00:00Z", "sent": 1, "delivered": 1, "opened": 1,
             "clicked": 1},
        ]
        assert [c["channel"] for c in messages["byChannel"]] == ["email", "sms"]
        assert campaigns["summary"] == {"totalCampaigns": 2, "completedCampaigns": 1,
                                        "totalRecipients": 1, "avgOpenRate": 100.0,
                                        "avgClickRate": 100.0}
        assert campaigns["topCampaigns"] == [
            {"campaignId": "c1", "name": "Winter sale", "sent": 1, "delivered": 1,
             "opened": 1, "clicked": 1, "openRate": 100.0, "clickRate": 100.0},
            {"campaignId": "c2", "name": None, "sent": 0, "delivered": 0, "opened": 0,
             "clicked": 0, "openRate": 0.0, "clickRate": 0.0},
        ]

    async def test_hour_series_of_a_45_minute_zone_from_a_utc_midnight(
        self, storage: Storage,
    ) -> None:
        """Kathmandu's hours start at :15 UTC, so the first one holds time before a range
        that starts at a UTC midnight: an open there is not in the range, and the
        message's next open, in the range, still counts in that first hour."""
        make, t = Maker(), "t_alpha"
        make.message(t, utc("2026-01-19T23:50:00Z"), "opened", "m1", "email")
        make.message(t, utc("2026-01-20T00:05:00Z"), "opened", "m1", "email")
        make.message(t, utc("2026-01-20T00:20:00Z"), "opened", "m1", "email")
        await store_events(storage, make.pairs)
        # a whole UTC day: its total by day, its hours by 15 minutes
        window = {"startDate": "2026-01-20T00:00:00Z", "endDate": "2026-01-21T00:00:00Z",
                  "timezone": "Asia/Kathmandu", "granularity": "hour"}
        async with api(storage, FALL_NOW) as client:
            data = (await client.get("/api/v1/analytics/messages", params=window,
                                     headers=bearer(t))).json()["data"]
        assert data["summary"]["opened"] == 1
        assert [(p["timestamp"], p["opened"]) for p in data["timeSeries"][:3]] == [
            ("2026-01-19T23:15:00Z", 1), ("2026-01-20T00:15:00Z", 1),
            ("2026-01-20T01:15:00Z", 0)]
        assert len(data["timeSeries"]) == 25

    async def test_active_enrollments_from_states_stored_apart(
        self, storage: Storage,
    ) -> None:
        """An enrollment's start and end arrive in different inserts (different parts of
        `enrollment_states`): it is active only between them, whichever part is read."""
        t = "t_alpha"
        first, second = Maker(), Maker("later")
        done = {"sequenceId": "seq_1", "enrollmentId": "enr-done"}
        still = {"sequenceId": "seq_1", "enrollmentId": "enr-still"}
        first.add("sequence.enrollment.enrolled", t, utc("2026-01-20T09:00:00Z"), **done)
        first.add("sequence.enrollment.enrolled", t, utc("2026-01-20T09:30:00Z"), **still)
        second.add("sequence.enrollment.completed", t, utc("2026-01-22T10:00:00Z"), **done)
        await store_events(storage, first.pairs)
        await store_events(storage, second.pairs)
        active = {}
        async with api(storage, FALL_NOW) as client:
            for end in ("2026-01-20", "2026-01-21", "2026-01-22"):
                data = (await client.get(
                    "/api/v1/analytics/sequences",
                    params={"startDate": "2026-01-19", "endDate": end},
                    headers=bearer(t))).json()["data"]
                active[end] = data["summary"]["activeEnrollments"]
        # the end of 01-22 is after the completion at 10:00 that day
        assert active == {"2026-01-20": 2, "2026-01-21": 2, "2026-01-22": 1}
