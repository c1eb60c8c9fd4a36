"""`GET /funnel`, `GET /funnel/workflows` and `GET /cohorts` against the independent
`funnel_oracle.py`, over one ingested data set: the window rule (a step exactly
`windowHours` after the send counts, a millisecond later not; a step before its send
never), a step counting only messages that reached every earlier one, repeated events,
a message sent twice, steps after the range's end, lower medians of even and odd counts,
the filters, per channel; runs that fail or reach a goal without completing; cohorts in
New York across both 2026 clock changes and on Monday-midnight edges, 26 weeks and not
27, `compare`, tenants kept apart and bad parameters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_events import Maker, Pair, store_events
from funnel_oracle import FunnelOracle
from litestar.testing import AsyncTestClient
from modes import sample
from oracle import events_from, previous, utc_text, window

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 11, 20, 15, 0, 0, 250000, tzinfo=UTC)  # a Friday
MS = timedelta(milliseconds=1)
H = timedelta(hours=1)
DAY = timedelta(days=1)
TOKENS = {"tok-a": "t_a", "tok-b": "t_b"}
A = "/api/v1/analytics"
CHANNELS = ("email", "sms", "push", "whatsapp")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _messages(make: Maker, tenant: str, count: int, first: datetime, step: timedelta) -> None:
    """`count` messages with every kind of path through the funnel."""
    for i in range(count):
        at = first + i * step
        mid = f"m-{tenant}-{i}"
        ch = CHANNELS[i % 4] if i % 6 else "email"
        src: dict[str, Any] = {"contactId": f"c{i % 17}"}
        if i % 3 == 0:
            src |= {"sourceType": "campaign", "sourceId": ("cmp_a", "cmp_b")[i % 2]}
        if i % 4:
            src["templateId"] = f"tpl_{i % 4}"
        make.message(tenant, at, "sent", mid, ch, **src)
        if i % 19 == 2:  # sent again an hour later: the first send counts
            make.message(tenant, at + H, "sent", mid, ch, **src)
        if i % 11 == 3:  # delivered before its send only: never delivered
            make.message(tenant, at - 1000 * MS, "delivered", mid, ch, **src)
        elif i % 7:
            make.message(tenant, at + (i * 37 % 600) * 1000 * MS + i * MS, "delivered", mid,
                         ch, **src)
        opened = at + (i * 1931 % (80 * 3600)) * 1000 * MS
        if i % 29 == 5:
            opened = at + 72 * H  # exactly the default window: counts
        elif i % 31 == 7:
            opened = at + 72 * H + MS  # a millisecond past it: not
        if i % 3:
            make.message(tenant, opened, "opened", mid, ch, **src)
            if i % 4 == 0:  # opened again: the first open counts
                make.message(tenant, opened + 2 * H, "opened", mid, ch, **src)
            if i % 5 in (1, 2):
                make.message(tenant, opened + 61 * 1000 * MS, "clicked", mid, ch, **src)
        elif i % 13 == 4:  # clicked, never opened: stops at opened
            make.message(tenant, opened, "clicked", mid, ch, **src)


def _runs(make: Maker, tenant: str, count: int, first: datetime, step: timedelta) -> None:
    for i in range(count):
        at = first + i * step
        run = {"workflowId": ("wf_a", "wf_b")[i % 2], "runId": f"run-{tenant}-{i}"}
        make.add("workflow.run.started", tenant, at, **run)
        done = at + (i * 2377 % (100 * 3600)) * 1000 * MS
        if i % 5 == 0:
            make.add("workflow.run.completed", tenant, done, status="failed", **run)
        elif i % 5 != 3:
            make.add("workflow.run.completed", tenant, done, **run,
                     **({"status": "completed"} if i % 2 else {}))
        if i % 3 == 1:  # goals with and without a completion, in time or late
            make.add("workflow.run.goal_reached", tenant, done + (i % 4) * H, **run)


# Instants around New York's 2026 clock changes and its Monday midnights.
NY_EDGES = [utc(t) for t in (
    "2026-03-02T04:30:00Z",  # Sunday 1 March 23:30 EST: the week of 23 February
    "2026-03-02T05:00:00Z",  # Monday 2 March 00:00 EST
    "2026-03-08T06:59:59.999Z",  # Sunday 8 March 01:59:59.999 EST, before the change
    "2026-03-08T07:00:00Z",  # 03:00 EDT, just after it
    "2026-03-09T03:59:59.999Z",  # Sunday 23:59:59.999 EDT
    "2026-03-09T04:00:00Z",  # Monday 9 March 00:00 EDT
    "2026-10-26T03:59:00Z",  # Sunday 25 October 23:59 EDT
    "2026-10-26T04:00:00Z",  # Monday 26 October 00:00 EDT
    "2026-11-01T05:30:00Z",  # Sunday 1 November 01:30 EDT, first pass
    "2026-11-01T06:30:00Z",  # 01:30 EST, second pass
    "2026-11-02T04:30:00Z",  # Sunday 1 November 23:30 EST: the week of 26 October
    "2026-11-02T05:00:00Z",  # Monday 2 November 00:00 EST
    "2026-08-17T04:00:00Z",  # Monday 17 August 00:00 EDT
    "2026-11-16T05:00:00Z",  # Monday 16 November 00:00 EST: NOW's week
)]


def _cohorts(make: Maker, tenant: str) -> None:
    """Contacts first sent on the edges (and 10 and 20 days later), engaging in later
    weeks, before their first send, twice in a week; one sent before every range."""
    for j in range(3 * len(NY_EDGES)):
        first = NY_EDGES[j % len(NY_EDGES)] + (j // len(NY_EDGES)) * 10 * DAY
        contact = f"k{j}"
        make.message(tenant, first, "sent", f"k-{tenant}-{j}", "email", contactId=contact)
        make.message(tenant, first + 9 * DAY, "sent", f"k-{tenant}-{j}-b", "sms",
                     contactId=contact)
        for m in range(j % 6):
            kind = ("opened", "clicked")[m % 2]
            at = first + m * (5 * DAY + j * H)
            make.message(tenant, at, kind, f"k-{tenant}-{j}", "email", contactId=contact)
        if j % 4 == 1:  # an open in an edge week of its own
            make.message(tenant, NY_EDGES[(j + 3) % len(NY_EDGES)], "opened",
                         f"k-{tenant}-{j}", "email", contactId=contact)
        if j % 5 == 2:  # an open an hour before the first send
            make.message(tenant, first - H, "opened", f"k-{tenant}-{j}-x", "email",
                         contactId=contact)
    make.message(tenant, utc("2025-06-01T12:00:00Z"), "sent", "k-old", "email",
                 contactId="k_old")
    for week in range(30):
        make.message(tenant, utc("2026-03-01T12:00:00Z") + week * 7 * DAY, "opened", "k-old",
                     "email", contactId="k_old")
    make.message(tenant, NOW - DAY, "opened", "k-none", "email", contactId="k_never_sent")
    make.message(tenant, NOW - DAY, "sent", "k-anon", "email")  # names no contact


def build() -> list[Pair]:
    make = Maker("fun")
    _messages(make, "t_a", 160, NOW - 40 * DAY, timedelta(minutes=367))
    # Sends at the 30-day range's first instant and its last, steps after its end.
    start30 = datetime(2026, 10, 22, tzinfo=UTC)
    for mid, at in (("m-start", start30), ("m-before", start30 - MS), ("m-end", NOW - MS)):
        make.message("t_a", at, "sent", mid, "push", contactId="c_edge")
        make.message("t_a", at + 5 * H, "delivered", mid, "push")
        make.message("t_a", at + 6 * H, "opened", mid, "push")
    # The window's edge: opened 72 h after the send, 72 h and 1 ms after, and a send an
    # hour before the range's end opened 72 h later.
    edge = {"sourceType": "campaign", "sourceId": "cmp_edge"}
    for mid, at, late in (("m-exact", NOW - 10 * DAY, 0), ("m-late", NOW - 10 * DAY, 1),
                          ("m-after", NOW - H, 0)):
        make.message("t_a", at, "sent", mid, "sms", **edge)
        make.message("t_a", at + MS, "delivered", mid, "sms", **edge)
        make.message("t_a", at + 72 * H + late * MS, "opened", mid, "sms", **edge)
    _runs(make, "t_a", 90, NOW - 35 * DAY, timedelta(minutes=557))
    _cohorts(make, "t_a")
    _messages(make, "t_b", 30, NOW - 10 * DAY, timedelta(hours=5))
    _runs(make, "t_b", 10, NOW - 10 * DAY, timedelta(hours=9))
    _cohorts(make, "t_b")
    pairs = make.pairs
    return pairs + pairs[::13]  # some delivered twice


@pytest.fixture(scope="module")
async def stored(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, FunnelOracle]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build()
    await store_events(store, pairs)
    yield store, FunnelOracle(events_from(pairs), NOW)
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


async def ask(storage: Storage, path: str, params: Any = None, token: str = "tok-a") -> Any:
    keys = ",".join(f"{t}={tenant}" for t, tenant in TOKENS.items())
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                     clock=lambda: NOW)
    async with AsyncTestClient(app) as client:
        return await client.get(f"{A}{path}", params=params,
                                headers={"Authorization": f"Bearer {token}"})


FUNNEL_CASES = [
    {},
    {"windowHours": "1"},
    {"windowHours": "720", "timeRange": "90d"},
    {"channel": "sms"},
    {"campaignId": "cmp_a", "timezone": "Asia/Kolkata"},
    {"templateId": "tpl_2", "channel": "email", "windowHours": "24"},
    {"startDate": "2026-10-22", "endDate": "2026-11-02", "timezone": "America/New_York"},
    {"startDate": "2026-11-10T05:07:00+05:30", "endDate": "2026-11-19T21:59:59.5Z",
     "windowHours": "100"},
    {"timeRange": "7d", "campaignId": "cmp_none"},
]


class TestFunnel:
    @pytest.mark.parametrize("params", sample(FUNNEL_CASES, 3))
    async def test_matches_the_oracle(self, stored: Any, params: dict[str, str]) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/funnel", params)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == oracle.funnel("t_a", params)

    async def test_the_data_holds_what_the_rules_tell_apart(self, stored: Any) -> None:
        """Late steps, steps before a send, clicks without opens and even counts are all
        in the default answer, so the oracle comparison checks each rule."""
        _, oracle = stored
        data = oracle.funnel("t_a", {})
        sent, delivered, opened, clicked = data["steps"]
        assert sent["messages"] > delivered["messages"] > opened["messages"]
        assert opened["messages"] > clicked["messages"] > 0
        assert sent["conversionRate"] == sent["overallRate"] == 100.0
        assert sent["medianSeconds"] is None
        wide = oracle.funnel("t_a", {"windowHours": "720"})["steps"]
        assert wide[2]["messages"] > opened["messages"]
        assert {c["channel"] for c in data["byChannel"]} == set(CHANNELS)

    async def test_a_step_at_the_window_s_end_counts_and_after_it_not(self, stored: Any,
                                                                      ) -> None:
        """Opened exactly 72 h after the send counts; 72 h and 1 ms after, not; a step
        after the range's end counts."""
        storage, _ = stored
        data = (await ask(storage, "/funnel", {"campaignId": "cmp_edge"})).json()["data"]
        assert [s["messages"] for s in data["steps"]] == [3, 3, 2, 0]
        assert data["steps"][2]["medianSeconds"] == 259200.0  # the lower of 72 h and 72 h
        narrow = await ask(storage, "/funnel", {"campaignId": "cmp_edge", "windowHours": "71"})
        assert [s["messages"] for s in narrow.json()["data"]["steps"]] == [3, 3, 0, 0]

    async def test_no_messages_gives_zeros(self, stored: Any) -> None:
        storage, _ = stored
        data = (await ask(storage, "/funnel", {"campaignId": "cmp_none"})).json()["data"]
        assert [s["messages"] for s in data["steps"]] == [0, 0, 0, 0]
        assert all(s["conversionRate"] == 0.0 and s["medianSeconds"] is None
                   for s in data["steps"])
        assert data["byChannel"] == []

    async def test_compare_adds_the_earlier_window(self, stored: Any) -> None:
        """No summary: `change` is empty; `comparison` is the earlier window's funnel."""
        storage, oracle = stored
        params = {"timeRange": "7d", "timezone": "Europe/Berlin", "compare": "previous_period"}
        data = (await ask(storage, "/funnel", params)).json()["data"]
        berlin = ZoneInfo("Europe/Berlin")
        start, end = previous(*window(params, berlin, "30d", NOW), berlin, "previous_period")
        before = oracle.funnel("t_a", {"timezone": "Europe/Berlin", "startDate": utc_text(start),
                                       "endDate": utc_text(end)})
        assert data["comparison"] == before and data["change"] == {}

    async def test_tenants_are_apart(self, stored: Any) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/funnel", {"timeRange": "90d"}, token="tok-b")
        assert answer.json()["data"] == oracle.funnel("t_b", {"timeRange": "90d"})


class TestWorkflowFunnel:
    @pytest.mark.parametrize("params", sample([
        {}, {"workflowId": "wf_b"}, {"windowHours": "2", "timeRange": "90d"},
        {"startDate": "2026-10-25", "endDate": "2026-11-05", "timezone": "America/New_York",
         "windowHours": "720"},
    ], 2))
    async def test_matches_the_oracle(self, stored: Any, params: dict[str, str]) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/funnel/workflows", params)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data == oracle.workflow_funnel("t_a", params)
        assert [s["step"] for s in data["steps"]] == ["started", "completed", "goal"]

    async def test_tenants_are_apart(self, stored: Any) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/funnel/workflows", {}, token="tok-b")
        assert answer.json()["data"] == oracle.workflow_funnel("t_b", {})


COHORT_CASES = [
    {},
    {"timezone": "America/New_York"},
    {"timezone": "America/New_York", "startDate": "2026-02-16", "endDate": "2026-04-05"},
    {"timezone": "America/New_York", "startDate": "2026-01-05", "endDate": "2026-07-05"},
    {"timezone": "America/New_York", "startDate": "2026-10-19", "endDate": "2026-11-01"},
    {"timezone": "Asia/Kolkata", "timeRange": "30d"},
    {"timezone": "Asia/Kathmandu", "startDate": "2026-03-01T18:00:00Z",
     "endDate": "2026-03-20T00:00:00Z"},
]


class TestCohorts:
    @pytest.mark.parametrize("params", sample(COHORT_CASES, 3))
    async def test_matches_the_oracle(self, stored: Any, params: dict[str, str]) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/cohorts", params)
        status, expected = oracle.cohorts("t_a", params)
        assert answer.status_code == status == 200, answer.text
        assert answer.json()["data"] == expected

    async def test_the_zone_moves_contacts_between_weeks(self, stored: Any) -> None:
        """Around both clock changes, New York's weeks are not UTC's: the cohorts differ,
        and in New York a Sunday-night send belongs to the week before."""
        _, oracle = stored
        spring = {"startDate": "2026-02-16", "endDate": "2026-04-05"}
        ny = oracle.cohorts("t_a", {**spring, "timezone": "America/New_York"})[1]
        plain = oracle.cohorts("t_a", spring)[1]
        assert [c["contacts"] for c in ny["cohorts"]] != [c["contacts"]
                                                          for c in plain["cohorts"]]
        assert any(r["engagedContacts"] for c in ny["cohorts"] for r in c["retention"][1:])

    async def test_retention_runs_to_the_last_week(self, stored: Any) -> None:
        storage, _ = stored
        data = (await ask(storage, "/cohorts", {"timezone": "America/New_York"})).json()["data"]
        weeks = [c["week"] for c in data["cohorts"]]
        assert weeks[-1] == "2026-11-16" and len(weeks) == 14
        assert [len(c["retention"]) for c in data["cohorts"]] == list(range(14, 0, -1))

    async def test_twenty_six_weeks_and_not_twenty_seven(self, stored: Any) -> None:
        storage, _ = stored
        ok = await ask(storage, "/cohorts", {"startDate": "2026-01-05", "endDate": "2026-07-05"})
        assert ok.status_code == 200 and len(ok.json()["data"]["cohorts"]) == 26
        over = await ask(storage, "/cohorts", {"startDate": "2026-01-05",
                                               "endDate": "2026-07-06"})
        assert over.status_code == 400
        assert over.json()["error"]["field"] == "endDate"

    async def test_compare_adds_the_earlier_window(self, stored: Any) -> None:
        storage, oracle = stored
        params = {"timeRange": "30d", "timezone": "America/New_York",
                  "compare": "previous_period"}
        data = (await ask(storage, "/cohorts", params)).json()["data"]
        ny = ZoneInfo("America/New_York")
        start, end = previous(*window(params, ny, "90d", NOW), ny, "previous_period")
        _, before = oracle.cohorts("t_a", {"timezone": "America/New_York",
                                           "startDate": utc_text(start), "endDate": utc_text(end)})
        assert data["comparison"] == before and data["change"] == {}

    async def test_tenants_are_apart(self, stored: Any) -> None:
        storage, oracle = stored
        answer = await ask(storage, "/cohorts", {"timezone": "America/New_York"}, token="tok-b")
        assert answer.json()["data"] == oracle.cohorts("t_b", {"timezone": "America/New_York"})[1]


# Every parameter's 400s are in tests/unit/test_api_params.py; a few here, with storage.
@pytest.mark.parametrize(("path", "params", "field"), sample([
    ("/funnel", {"windowHours": "0"}, "windowHours"),
    ("/funnel", {"windowHours": "721"}, "windowHours"),
    ("/funnel", {"campaignId": "x" * 257}, "campaignId"),
    ("/funnel/workflows", {"windowHours": "-3"}, "windowHours"),
    ("/cohorts", {"startDate": "2026-01-01", "endDate": "2026-12-01"}, "endDate"),
], 2))
async def test_bad_parameters_are_named(stored: Any, path: str, params: dict[str, str],
                                        field: str) -> None:
    storage, _ = stored
    answer = await ask(storage, path, params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


async def test_no_token_is_a_401(stored: Any) -> None:
    storage, _ = stored
    for path in ("/funnel", "/funnel/workflows", "/cohorts"):
        assert (await ask(storage, path, token="nope")).status_code == 401
