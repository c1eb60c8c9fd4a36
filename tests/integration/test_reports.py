"""`POST /query` against an independent oracle (`report_oracle.py`), over real ClickHouse:
every metric, each dimension, filters, paging, CSV and NDJSON parsed back, bad input, and
random queries (hypothesis)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_events import FALL_NOW, Maker, build_events, store_events, utc
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from modes import SERVER_MODE
from oracle import Context, bound, events_from
from report_oracle import METRICS, PERCENTILES, RATES, ReportOracle

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

pytestmark = pytest.mark.clickhouse

TOKENS = {"tok-alpha": "t_alpha", "tok-beta": "t_beta"}
ALL_METRICS = [*METRICS, *RATES, *PERCENTILES]
DIMENSIONS = ["time:day", "time:hour", "time:week", "hourOfDay", "dayOfWeek", "channel",
              "provider", "campaign", "template", "workflow", "sequence", "eventType",
              "errorCode", "bounceType", "country", "device", "url"]
WINDOW = {"startDate": "2026-10-19", "endDate": "2026-10-29", "timezone": "Europe/Berlin"}


def engagement(make: Maker) -> None:
    """Opens and clicks with user agents, places and machine opens (the demo has none)."""
    at = utc("2026-10-21T09:00:00Z")
    for i, (agent, country, machine) in enumerate([
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17) Mobile", "DE", False),
            ("Mozilla/5.0 (iPad; CPU OS 17)", "FR", False),
            ("Mozilla/5.0 (Windows NT 10.0)", "DE", True), (None, None, None)]):
        extra = {k: v for k, v in (("userAgent", agent), ("machineOpen", machine)) if v}
        if country:
            extra["geo"] = {"country": country, "city": "Berlin" if country == "DE" else None}
        make.message("t_alpha", at, "opened", f"msg-ua-{i}", "email", contactId=f"c-ua-{i}",
                     sourceType="campaign", sourceId="cmp_renamed", **extra)
        make.message("t_alpha", at, "clicked", f"msg-ua-{i}", "email", contactId=f"c-ua-{i}",
                     url=f"https://example.com/{i % 2}", **extra)


def week_before_spring(make: Maker) -> None:
    """Three messages in the Berlin week of 16-22 March 2026, the one before the week of
    the clock change: at its first local hour (00:30, which a window 167 hours long
    misses), inside it, and at its last hour."""
    for i, (at, channel) in enumerate([("2026-03-15T23:30:00Z", "email"),
                                       ("2026-03-20T10:00:00Z", "email"),
                                       ("2026-03-22T22:30:00Z", "sms")]):
        make.message("t_alpha", utc(at), "sent", f"msg-wk-{i}", channel, cost=0.25)
        if channel == "email":
            make.message("t_alpha", utc(at), "delivered", f"msg-wk-{i}", channel)


@pytest.fixture(scope="module")
async def loaded(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, Any]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    make = Maker("ua")
    engagement(make)
    week_before_spring(make)
    pairs = [*build_events(), *make.pairs]
    await store_events(store, pairs)
    yield store, events_from(pairs)
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


def oracle(events: Any, tenant: str) -> ReportOracle:
    mine = [e for e in events if e.tenant == tenant]
    context = Context(mine, FALL_NOW, FALL_NOW, ZoneInfo("UTC"), "day", [], {})
    return ReportOracle(events, context.name)


async def post(storage: Storage, body: dict[str, Any], tenant: str = "t_alpha",
               **params: str) -> Any:
    keys = ",".join(f"{t}={n}" for t, n in TOKENS.items())
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                     clock=lambda: FALL_NOW)
    token = next(t for t, n in TOKENS.items() if n == tenant)
    async with AsyncTestClient(app) as client:
        return await client.post("/api/v1/analytics/query", json=body, params=params,
                                 headers={"Authorization": f"Bearer {token}"})


def expected(events: Any, body: dict[str, Any], tenant: str = "t_alpha") -> dict[str, Any]:
    tz = ZoneInfo(body.get("timezone", "UTC"))
    start, end = bound(body["startDate"], tz, False), bound(body["endDate"], tz, True)
    return oracle(events, tenant).answer(tenant, body, start, end, tz)


def matches(got: Any, want: Any) -> bool:
    """Equal, where a percentile is right anywhere in the oracle's interval."""
    if isinstance(want, tuple):
        return got is not None and want[0] - 0.05 <= got <= want[1] + 0.05
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(matches(g, w) for g, w in zip(got, want, strict=True)))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(matches(got[k], want[k]) for k in want)
    return bool(got == want)


def check(data: dict[str, Any], want: dict[str, Any]) -> None:
    assert matches(data["rows"], want["rows"]), (data["rows"][:5], want["rows"][:5])
    assert matches(data["totals"], want["totals"])


class TestEveryMetricAndDimension:
    @pytest.mark.parametrize("metric", ALL_METRICS)
    async def test_metric_by_channel(self, loaded: tuple[Storage, Any], metric: str) -> None:
        """Each metric, per channel and in total, equals the oracle's."""
        storage, events = loaded
        body = {**WINDOW, "metrics": [metric], "dimensions": ["channel"]}
        response = await post(storage, body)
        assert response.status_code == 200, response.text
        check(response.json()["data"], expected(events, body))

    @pytest.mark.parametrize("dimension", DIMENSIONS)
    async def test_dimension(self, loaded: tuple[Storage, Any], dimension: str) -> None:
        """Each dimension groups five metrics exactly as the oracle does, names included."""
        storage, events = loaded
        body = {**WINDOW, "metrics": ["sent", "opened", "openRate", "totalCost", "workflowRuns"],
                "dimensions": [dimension], "limit": 10000}
        response = await post(storage, body)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        names = [c["name"] for c in data["columns"]]
        assert names[-5:] == body["metrics"]
        check(data, expected(events, body))

    async def test_three_dimensions_filters_and_order(self, loaded: tuple[Storage, Any]) -> None:
        """Three dimensions, is / isNot / contains filters and a metric order."""
        storage, events = loaded
        body = {**WINDOW, "metrics": ["sent", "delivered", "clickRate", "uniqueContacts",
                                      "avgDeliveryMs"],
                "dimensions": ["time:day", "channel", "campaign"],
                "filters": [["isNot", "campaign", [None]], ["is", "channel", ["email", "sms"]],
                            ["contains", "campaign", "RENAMED"]],
                "orderBy": [["sent", "desc"]], "limit": 10000}
        response = await post(storage, body)
        assert response.status_code == 200, response.text
        check(response.json()["data"], expected(events, body))


class TestPagesAndExports:
    BODY: dict[str, Any] = {**WINDOW, "metrics": ["sent", "openRate", "totalCost"],  # noqa: RUF012
                            "dimensions": ["template", "channel"]}

    async def test_pages_follow_the_cursor_to_every_row(self, loaded: tuple[Storage, Any]) -> None:
        """Pages of 7 rows, followed by nextCursor, are the whole answer in order."""
        storage, events = loaded
        rows, cursor = [], None
        while True:
            response = await post(storage, {**self.BODY, "limit": 7, "cursor": cursor})
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            rows += data["rows"]
            cursor = data["nextCursor"]
            if cursor is None:
                break
        assert rows == expected(events, self.BODY)["rows"]

    @pytest.mark.parametrize("kind", ["csv", "ndjson"])
    async def test_export_is_the_json_answer(self, loaded: tuple[Storage, Any], kind: str) -> None:
        """CSV and NDJSON, parsed back, hold exactly the rows of the JSON answer."""
        storage, _ = loaded
        full = (await post(storage, {**self.BODY, "limit": 10000})).json()["data"]
        response = await post(storage, self.BODY, format=kind)
        assert response.status_code == 200
        media = {"csv": "text/csv", "ndjson": "application/x-ndjson"}[kind]
        assert response.headers["content-type"].startswith(media)
        names = [c["name"] for c in full["columns"]]
        if kind == "csv":
            table = list(csv.reader(io.StringIO(response.text)))
            assert table[0] == names
            as_text = [["" if v is None else str(v) for v in row] for row in full["rows"]]
            assert table[1:] == as_text
        else:
            lines = [json.loads(line) for line in response.text.splitlines()]
            assert lines == [dict(zip(names, row, strict=True)) for row in full["rows"]]

    async def test_accept_header_asks_for_an_export(self, loaded: tuple[Storage, Any]) -> None:
        storage, _ = loaded
        keys = ",".join(f"{t}={n}" for t, n in TOKENS.items())
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                         clock=lambda: FALL_NOW)
        async with AsyncTestClient(app) as client:
            response = await client.post("/api/v1/analytics/query", json=self.BODY, headers={
                "Authorization": "Bearer tok-alpha", "Accept": "application/x-ndjson"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")


class TestBadInput:
    @pytest.mark.parametrize(("body", "field"), [
        ({"metrics": []}, "metrics"),
        ({"metrics": ["nope"]}, "metrics"),
        ({"metrics": "sent"}, "metrics"),
        ({"metrics": ["sent"], "dimensions": ["a", "b", "c", "d"]}, "dimensions"),
        ({"metrics": ["sent"], "dimensions": ["time:year"]}, "dimensions"),
        ({"metrics": ["sent"], "filters": [["like", "channel", ["x"]]]}, "filters"),
        ({"metrics": ["sent"], "filters": [["is", "planet", ["x"]]]}, "filters"),
        ({"metrics": ["sent"], "filters": [["is", "hourOfDay", ["3"]]]}, "filters"),
        ({"metrics": ["sent"], "orderBy": [["opened", "desc"]]}, "orderBy"),
        ({"metrics": ["sent"], "limit": 0}, "limit"),
        ({"metrics": ["sent"], "cursor": "not-a-cursor"}, "cursor"),
        ({"metrics": ["sent"], "timezone": "Mars/Base"}, "timezone"),
        # a misspelled key is refused, never read as absent (the unfiltered total)
        ({"metrics": ["sent"], "filter": [["is", "channel", ["email"]]]}, "filter"),
        ({"metrics": ["sent"], "startdate": "2026-10-19", "endDate": "2026-10-28"},
         "startdate"),
        ({"metrics": ["sent"], "compare": "bogus"}, "compare"),
    ])
    async def test_400_names_the_field(self, loaded: tuple[Storage, Any], body: dict[str, Any],
                                       field: str) -> None:
        storage, _ = loaded
        response = await post(storage, body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == field

    async def test_cursor_of_another_tenant_is_refused(self, loaded: tuple[Storage, Any]) -> None:
        """A cursor is bound to its tenant and query: beta's cursor is refused for alpha."""
        storage, _ = loaded
        body = {**TestPagesAndExports.BODY, "limit": 1}
        theirs = (await post(storage, body, tenant="t_beta")).json()["data"]["nextCursor"]
        response = await post(storage, {**body, "cursor": theirs})
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "cursor"


class TestCompare:
    @pytest.mark.parametrize("body", [
        {**WINDOW, "metrics": ["sent", "delivered", "deliveryRate", "opened", "totalCost",
                               "avgCostPerMessage"], "dimensions": ["channel"],
         "compare": "previous_period"},
        {**WINDOW, "metrics": ["sent", "clickRate"], "compare": "previous_year"},
        {"startDate": "2026-10-24T22:30:00Z", "endDate": "2026-10-28T19:52:41.5Z",
         "timezone": "Asia/Kathmandu", "metrics": ["sent", "uniqueContacts", "openRate"],
         "dimensions": ["time:day"], "compare": "previous_period"},
    ])
    async def test_compare_adds_the_previous_totals_and_their_change(
            self, loaded: tuple[Storage, Any], body: dict[str, Any]) -> None:
        """The rows and totals as without `compare`; `comparison{totals, timeRange}` of
        the previous window and `change` over the totals, as the oracle reads them."""
        storage, events = loaded
        response = await post(storage, body)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        tz = ZoneInfo(body["timezone"])
        start, end = bound(body["startDate"], tz, False), bound(body["endDate"], tz, True)
        want = oracle(events, "t_alpha").compared("t_alpha", body, start, end, tz)
        check(data, want)
        assert data["comparison"] == want["comparison"]
        assert data["change"] == want["change"]

    async def test_berlin_week_over_the_spring_change_compares_with_seven_local_days(
            self, loaded: tuple[Storage, Any]) -> None:
        """23-29 March 2026 in Berlin (167 hours) compares with 16-22 March, all seven
        local days (168 hours): the message at 00:30 on Monday 16 March is counted."""
        storage, events = loaded
        body = {"startDate": "2026-03-23", "endDate": "2026-03-29", "timezone": "Europe/Berlin",
                "metrics": ["sent", "delivered", "deliveryRate", "totalCost", "opened"],
                "dimensions": ["channel"], "compare": "previous_period"}
        response = await post(storage, body)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["timeRange"] == {"start": "2026-03-22T23:00:00Z",
                                     "end": "2026-03-29T22:00:00Z"}
        assert data["comparison"]["timeRange"] == {"start": "2026-03-15T23:00:00Z",
                                                   "end": "2026-03-22T23:00:00Z"}
        assert data["comparison"]["totals"] == {"sent": 3, "delivered": 2, "deliveryRate": 66.67,
                                                "totalCost": 0.75, "opened": 0}
        tz = ZoneInfo("Europe/Berlin")
        want = oracle(events, "t_alpha").compared(
            "t_alpha", body, bound("2026-03-23", tz, False), bound("2026-03-29", tz, True), tz)
        check(data, want)
        assert (data["comparison"], data["change"]) == (want["comparison"], want["change"])

    async def test_rows_pages_and_cursor_are_those_without_compare(
            self, loaded: tuple[Storage, Any]) -> None:
        """A cursor of the answer without `compare` pages the one with it, and back."""
        storage, _ = loaded
        body = {**TestPagesAndExports.BODY, "limit": 3}
        plain = (await post(storage, body)).json()["data"]
        both = (await post(storage, {**body, "compare": "previous_period"})).json()["data"]
        assert both["rows"] == plain["rows"]
        assert both["nextCursor"] == plain["nextCursor"]
        following = await post(storage, {**body, "cursor": plain["nextCursor"],
                                          "compare": "previous_year"})
        assert following.status_code == 200, following.text
        assert "comparison" not in plain and "change" not in plain


FILTERS = st.sampled_from([
    ["is", "channel", ["email"]], ["isNot", "channel", ["sms", "push"]],
    ["is", "campaign", [None]], ["isNot", "template", [None]], ["contains", "template", "1"],
    ["is", "provider", ["unknown", "ses"]], ["is", "eventType", ["message_sent"]]])


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kathmandu"])
@pytest.mark.parametrize("start", ["2026-10-19", "2026-10-25T01:07:00Z"])
@pytest.mark.parametrize("filters", [[], [["is", "provider", ["unknown", "ses"]]]])
async def test_no_row_without_an_event_a_metric_counts(
        loaded: tuple[Storage, Any], zone: str, start: str, filters: Any) -> None:
    """No row where no requested metric counts an event, though the events there share
    the kind of key a metric reads (the random test below found it: with a provider filter
    the keys come from the raw table, where every message event has a message key)."""
    storage, events = loaded
    body = {"metrics": ["opened", "uniqueContacts"], "dimensions": ["template"],
            "filters": filters, "startDate": start, "endDate": "2026-10-28T19:52:41.5Z",
            "timezone": zone, "limit": 10000}
    response = await post(storage, body)
    assert response.status_code == 200, response.text
    check(response.json()["data"], expected(events, body))


@settings(max_examples=10 if SERVER_MODE else 40, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(metrics=st.lists(st.sampled_from(ALL_METRICS), min_size=1, max_size=5, unique=True),
       dims=st.lists(st.sampled_from(DIMENSIONS[3:]), max_size=2, unique=True),
       time=st.sampled_from([None, "time:day", "time:hour"]),
       filters=st.lists(FILTERS, max_size=2),
       start=st.sampled_from(["2026-10-19", "2026-10-24T22:30:00Z", "2026-10-25T01:07:00Z"]),
       zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kathmandu"]))
async def test_random_queries_match_plain_python(
    loaded: tuple[Storage, Any], metrics: list[str], dims: list[str], time: str | None,
    filters: list[Any], start: str, zone: str,
) -> None:
    """For random queries the engine's answer is the oracle's."""
    storage, events = loaded
    dimensions = ([time] if time else []) + dims
    body = {"metrics": metrics, "dimensions": dimensions, "filters": filters,
            "startDate": start, "endDate": "2026-10-28T19:52:41.5Z", "timezone": zone,
            "limit": 10000}
    note(f"body: {body}")  # the failing example's arguments do not print
    response = await post(storage, body)
    assert response.status_code == 200, response.text
    check(response.json()["data"], expected(events, body))
