"""Engagement scores against the independent `engagement_oracle.py`: contract events go
through the real writer into `contact_hourly`, and every field of both endpoints is
compared — the decay and its 0.1 floor, the 90th and 91st UTC dates back, rounding half
up, the level boundaries, ties, the level filter, pages to the end over one snapshot,
`asOf`, unknown contacts, tenants kept apart, and the 400s. Both the read model and its
raw-table twin (`tables.RAW_TABLES`) answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from api_events import Maker, Pair
from engagement_oracle import contact, noon, tenant
from litestar.testing import AsyncTestClient
from oracle import Event, events_from, utc_text

import chanalytics.query.tables as tables
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine
from chanalytics.versions import LocalVersions

pytestmark = pytest.mark.clickhouse

TOKENS = {"tok-a": "t_a", "tok-b": "t_b", "tok-page": "t_page", "tok-asof": "t_asof",
          "tok-empty": "t_empty"}
A = "/api/v1/analytics"
TODAY = datetime.now(UTC)
MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)
# What an answer's default asOf may trail the request by (the service documents 1 s,
# floored to the second).
TRAIL = timedelta(seconds=2)


class Scores:
    """Contract events worth a number of points at a date, with readable contact ids."""

    def __init__(self, prefix: str) -> None:
        self.make = Maker(prefix)
        self._n = 0

    def _mid(self) -> str:
        self._n += 1
        return f"{self.make.prefix}-m{self._n}"

    def event(self, kind: str, tenant_id: str, contact_id: str | None, at: datetime,
              stamp: str = "iso") -> None:
        who = {"contactId": contact_id} if contact_id is not None else {}
        self._n += 1
        match kind:
            case "goal":
                self.make.add("workflow.run.goal_reached", tenant_id, at, stamp=stamp,
                              workflowId="wf_1", runId=f"run-{self._n}", **who)
            case "reply":
                self.make.add("sequence.enrollment.replied", tenant_id, at, stamp=stamp,
                              sequenceId="seq_1", enrollmentId=f"enr-{self._n}",
                              stepNumber=1, **who)
            case "created":
                self.make.add("contact.created", tenant_id, at, stamp=stamp,
                              contactId=contact_id)
            case _:
                self.make.message(tenant_id, at, kind, self._mid(), "email", **who)

    def worth(self, tenant_id: str, contact_id: str, points: int, at: datetime) -> None:
        """Events of `contact_id` worth `points` at `at`'s date, before any decay."""
        for kind, value in (("goal", 50), ("reply", 15), ("clicked", 10), ("opened", 5),
                            ("delivered", 1)):
            while points >= value:
                self.event(kind, tenant_id, contact_id, at)
                points -= value


def build() -> list[Pair]:
    s = Scores("eng")
    today = noon(TODAY, 0)
    for cid, points in (("c_b100", 100), ("c_b99", 99), ("c_b50", 50), ("c_b49", 49),
                        ("c_b10", 10), ("c_b9", 9), ("c_tie_b", 20), ("c_tie_a", 20),
                        ("c_tie_c", 20)):
        s.worth("t_a", cid, points, today)
    s.event("goal", "t_a", "c_edge89", noon(TODAY, 89))  # 50 x 0.1
    end_of_89 = noon(TODAY, 88).replace(hour=0) - MS  # the last instant of the 90th date
    s.event("goal", "t_a", "c_edge89_late", end_of_89, stamp="epoch")
    s.event("goal", "t_a", "c_edge90", end_of_89 - DAY)  # the 91st date back: nothing
    for back in (80, 81, 85, 89):  # 1.11 + 1 + 1 + 1 -> 4: the floor holds from day 81
        s.event("clicked", "t_a", "c_floor", noon(TODAY, back), stamp="offset")
    s.event("delivered", "t_a", "c_half", noon(TODAY, 45))  # 0.5 -> 1
    s.event("opened", "t_a", "c_half2", noon(TODAY, 45))  # 2.5 -> 3
    s.event("delivered", "t_a", "c_below_half", noon(TODAY, 46))  # 0.49 -> 0
    for _ in range(3):  # one message opened three times: three events, 15 points
        s.make.message("t_a", today, "opened", "m-reopened", "sms", contactId="c_reopen")
    s.event("clicked", "t_a", "c_old", noon(TODAY, 200))
    s.event("clicked", "t_a", "c_future", noon(TODAY, -1))  # a later date: no points
    s.event("delivered", "t_a", "c_future", noon(TODAY, -1).replace(hour=0) - MS)  # today
    for kind in ("sent", "bounced", "unsubscribed", "created"):
        s.event(kind, "t_a", "c_no_points", noon(TODAY, 3))
    s.event("created", "t_a", "c_created", noon(TODAY, 400))
    for back in range(0, 100, 7):
        for kind in ("delivered", "opened", "clicked", "reply", "goal"):
            s.event(kind, "t_a", "c_mixed", noon(TODAY, back) + back * timedelta(minutes=13))
    s.event("goal", "t_a", None, today)  # names no contact: counts for nobody
    s.event("clicked", "t_a", None, today)
    s.worth("t_b", "c_tie_a", 500, today)  # the same id in another tenant
    s.worth("t_b", "c_b_only", 30, today)
    pairs = s.make.pairs
    return pairs + pairs[::17]  # some delivered twice


async def server_now(storage: Storage) -> datetime:
    rows = await storage.query("SELECT now64(3, 'UTC')")
    found: datetime = rows[0][0]
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


async def write(storage: Storage, pairs: list[Pair], versions: LocalVersions | None = None,
                ) -> None:
    writer = BatchWriter(storage, Metrics(), versions=versions)
    rows = [map_event(subject, msgspec.json.encode(envelope), seq)
            for seq, (subject, envelope) in enumerate(pairs, 1)]
    for i in range(0, len(rows), 40):
        await writer.write(rows[i:i + 40] + rows[i:i + 3])


@pytest.fixture(scope="module")
async def stored(clickhouse_dsn: str) -> AsyncIterator[tuple[Storage, list[Event], datetime]]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    pairs = build()
    await write(store, pairs)
    after = await server_now(store)
    await asyncio.sleep(TRAIL.total_seconds() + 0.2)  # the default asOf is past every batch
    yield store, events_from(pairs), after
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


def app_for(storage: Storage, mode: str = "rollup", versions: LocalVersions | None = None,
            ) -> Any:
    keys = ",".join(f"{t}={tenant_id}" for t, tenant_id in TOKENS.items())
    engine = Engine(storage, tables=tables.RAW_TABLES) if mode == "raw" else None
    return create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=storage,
                      engine=engine, versions=versions)


async def get(storage: Storage, token: str, path: str, mode: str = "rollup",
              **params: str) -> Any:
    async with AsyncTestClient(app_for(storage, mode)) as client:
        return await client.get(f"{A}{path}", params=params,
                                headers={"Authorization": f"Bearer {token}"})


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


CONTACTS = ["c_b100", "c_b99", "c_b50", "c_b49", "c_b10", "c_b9", "c_tie_a", "c_tie_b",
            "c_edge89", "c_edge89_late", "c_edge90", "c_floor", "c_half", "c_half2",
            "c_below_half", "c_reopen", "c_old", "c_future", "c_no_points", "c_created",
            "c_mixed", "nobody", "c_b_only"]


@pytest.mark.parametrize("mode", ["rollup", "raw"])
class TestContact:
    @pytest.mark.parametrize("contact_id", CONTACTS)
    async def test_every_field_matches_the_oracle(self, stored: Any, mode: str,
                                                  contact_id: str) -> None:
        """Score, level, lastEngagementAt, breakdown and asOf, computed at the answer's
        asOf over every event stored before it."""
        storage, events, after = stored
        answer = await get(storage, "tok-a", f"/contacts/{contact_id}/engagement", mode)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        as_of = instant(data["asOf"])
        assert as_of > after
        assert data == contact(events, "t_a", contact_id, as_of)


class TestContactEdges:
    """The contract's edges, written out (the oracle computes the same)."""

    async def ask(self, stored: Any, contact_id: str) -> dict[str, Any]:
        storage, _, _ = stored
        answer = await get(storage, "tok-a", f"/contacts/{contact_id}/engagement")
        data: dict[str, Any] = answer.json()["data"]
        if instant(data["asOf"]).date() != TODAY.date():  # the oracle tests still hold
            pytest.skip("the UTC date changed since the events were made")
        return data

    async def test_day_89_counts_at_the_floor_and_the_91st_date_not(self, stored: Any) -> None:
        assert (await self.ask(stored, "c_edge89"))["score"] == 5
        assert (await self.ask(stored, "c_edge89_late"))["breakdown"]["converted"] == 1
        edge90 = await self.ask(stored, "c_edge90")
        assert edge90["score"] == 0 and edge90["breakdown"]["converted"] == 0
        assert edge90["lastEngagementAt"] is not None

    async def test_the_floor_and_rounding_half_up(self, stored: Any) -> None:
        assert (await self.ask(stored, "c_floor"))["score"] == 4
        assert (await self.ask(stored, "c_half"))["score"] == 1
        assert (await self.ask(stored, "c_half2"))["score"] == 3
        assert (await self.ask(stored, "c_below_half"))["score"] == 0

    async def test_levels_at_their_boundaries(self, stored: Any) -> None:
        levels = {cid: (await self.ask(stored, cid))["level"]
                  for cid in ("c_b100", "c_b99", "c_b50", "c_b49", "c_b10", "c_b9")}
        assert levels == {"c_b100": "high", "c_b99": "medium", "c_b50": "medium",
                          "c_b49": "low", "c_b10": "low", "c_b9": "inactive"}

    async def test_events_not_distinct_messages(self, stored: Any) -> None:
        reopened = await self.ask(stored, "c_reopen")
        assert reopened["score"] == 15 and reopened["breakdown"]["opened"] == 3

    async def test_last_engagement_over_all_time(self, stored: Any) -> None:
        old = await self.ask(stored, "c_old")
        assert old["score"] == 0 and old["level"] == "inactive"
        assert old["lastEngagementAt"] == utc_text(noon(TODAY, 200))
        future = await self.ask(stored, "c_future")
        assert future["lastEngagementAt"] == utc_text(noon(TODAY, -1))
        assert future["score"] == 1

    async def test_an_unknown_contact(self, stored: Any) -> None:
        data = await self.ask(stored, "nobody")
        assert data["score"] == 0 and data["level"] == "inactive"
        assert data["lastEngagementAt"] is None
        assert data["breakdown"] == {"delivered": 0, "opened": 0, "clicked": 0,
                                     "replied": 0, "converted": 0}


@pytest.mark.parametrize("mode", ["rollup", "raw"])
class TestTenant:
    @pytest.mark.parametrize("level", [None, "high", "medium", "low", "inactive"])
    async def test_levels_and_ranking_match_the_oracle(self, stored: Any, mode: str,
                                                       level: str | None) -> None:
        """levels{} counts every known contact; contacts rank by score, then id; `level`
        filters the list, not the counts."""
        storage, events, _ = stored
        params = {"limit": "1000"} | ({"level": level} if level else {})
        answer = await get(storage, "tok-a", "/engagement", mode, **params)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        expected = tenant(events, "t_a", instant(data["asOf"]), level)
        assert data == expected | {"nextCursor": None}

    async def test_ties_break_by_contact_id(self, stored: Any, mode: str) -> None:
        storage, _, _ = stored
        data = (await get(storage, "tok-a", "/engagement", mode, level="low")).json()["data"]
        ties = [c["contactId"] for c in data["contacts"] if c["score"] == 20]
        assert ties == ["c_tie_a", "c_tie_b", "c_tie_c"]

    async def test_tenants_are_apart(self, stored: Any, mode: str) -> None:
        """t_b's contact of the same id as t_a's has t_b's score only; neither sees the
        other's contacts; a tenant without events has none."""
        storage, events, _ = stored
        b = (await get(storage, "tok-b", "/engagement", mode)).json()["data"]
        assert b == tenant(events, "t_b", instant(b["asOf"])) | {"nextCursor": None}
        assert [c["contactId"] for c in b["contacts"]] == ["c_tie_a", "c_b_only"]
        a = (await get(storage, "tok-a", "/contacts/c_b_only/engagement", mode)).json()
        assert a["data"]["lastEngagementAt"] is None
        empty = (await get(storage, "tok-empty", "/engagement", mode)).json()["data"]
        assert empty["contacts"] == [] and empty["nextCursor"] is None
        assert empty["levels"] == {"high": 0, "medium": 0, "low": 0, "inactive": 0}


class TestAsOf:
    async def test_default_as_of_is_a_recent_whole_second(self, stored: Any) -> None:
        storage, _, _ = stored
        before = await server_now(storage)
        data = (await get(storage, "tok-a", "/engagement")).json()["data"]
        after = await server_now(storage)
        as_of = instant(data["asOf"])
        assert as_of.microsecond == 0
        assert before - TRAIL <= as_of <= after

    async def test_an_answer_at_a_given_as_of_leaves_out_what_was_stored_later(
            self, clickhouse_dsn: str) -> None:
        """asOf (at most 60 s back) answers from the events stored before it, at its date."""
        store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
        store.connect()
        store.migrate(raw_ttl_days=36500)
        try:
            early, late = Scores("asof-1"), Scores("asof-2")
            early.worth("t_asof", "c_1", 9, noon(TODAY, 0))
            early.worth("t_asof", "c_2", 60, noon(TODAY, 2))
            late.worth("t_asof", "c_1", 1, noon(TODAY, 0))  # 10: low, later
            late.worth("t_asof", "c_3", 200, noon(TODAY, 0))
            await write(store, early.make.pairs)
            await asyncio.sleep(0.05)
            as_of = await server_now(store)
            await asyncio.sleep(0.05)
            await write(store, late.make.pairs)
            text = utc_text(as_of)
            data = (await get(store, "tok-asof", "/engagement", asOf=text)).json()["data"]
            before = events_from(early.make.pairs)
            assert data == tenant(before, "t_asof", as_of) | {"nextCursor": None}
            assert data["asOf"] == text and data["levels"]["high"] == 0
            one = (await get(store, "tok-asof", "/contacts/c_1/engagement",
                             asOf=text)).json()["data"]
            assert one == contact(before, "t_asof", "c_1", as_of)
            assert one["level"] == "inactive"
            await asyncio.sleep(TRAIL.total_seconds() + 0.2)
            now = (await get(store, "tok-asof", "/contacts/c_1/engagement")).json()["data"]
            assert now["level"] == "low"
        finally:
            store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
            store.close()


class TestPages:
    async def test_pages_to_the_end_keep_the_first_pages_ranking(
            self, clickhouse_dsn: str) -> None:
        """limit-sized pages in order, nextCursor null at the end; events stored after the
        first page (a contact rising to the top, a new contact) change no later page."""
        store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
        store.connect()
        store.migrate(raw_ttl_days=36500)
        versions = LocalVersions()
        try:
            first = Scores("page-1")
            for i in range(23):
                first.worth("t_page", f"p{i:02d}", (i % 7) * 10 + (i % 3) * 20 + 1,
                            noon(TODAY, i % 4))
            await write(store, first.make.pairs, versions)
            await asyncio.sleep(TRAIL.total_seconds() + 0.2)
            keys = ",".join(f"{t}={tenant_id}" for t, tenant_id in TOKENS.items())
            app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys}), storage=store,
                             versions=versions)  # kept answers on, as in production
            headers = {"Authorization": "Bearer tok-page"}
            async with AsyncTestClient(app) as client:
                page = (await client.get(f"{A}/engagement", params={"limit": "5"},
                                         headers=headers)).json()["data"]
                as_of = instant(page["asOf"])
                later = Scores("page-2")
                later.worth("t_page", "p22", 500, noon(TODAY, 0))
                later.worth("t_page", "p_new", 80, noon(TODAY, 0))
                await write(store, later.make.pairs, versions)
                shown, pages = list(page["contacts"]), 1
                while page["nextCursor"] is not None:
                    answer = await client.get(f"{A}/engagement", headers=headers, params={
                        "limit": "5", "cursor": page["nextCursor"]})
                    assert answer.status_code == 200, answer.text
                    page = answer.json()["data"]
                    assert page["asOf"] == utc_text(as_of)
                    shown += page["contacts"]
                    pages += 1
            expected = tenant(events_from(first.make.pairs), "t_page", as_of)
            assert shown == expected["contacts"]
            assert page["levels"] == expected["levels"]
            assert pages == 5 and len(shown) == 23
        finally:
            store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
            store.close()

    async def test_a_filtered_ranking_pages_too(self, stored: Any) -> None:
        storage, events, _ = stored
        shown: list[Any] = []
        params = {"limit": "2", "level": "low"}
        while True:
            data = (await get(storage, "tok-a", "/engagement", **params)).json()["data"]
            shown += data["contacts"]
            if data["nextCursor"] is None:
                break
            params["cursor"] = data["nextCursor"]
        assert shown == tenant(events, "t_a", instant(data["asOf"]), "low")["contacts"]


class TestBadInput:
    @pytest.mark.parametrize(("params", "field"), [
        ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit"),
        ({"level": "hot"}, "level"), ({"level": "HIGH"}, "level"),
        ({"cursor": "nope"}, "cursor"), ({"cursor": ""}, "cursor"),
        ({"asOf": "yesterday"}, "asOf"), ({"asOf": "2026-12-07T10:00:00"}, "asOf"),
        ({"asOf": "2026-12-07"}, "asOf"),
    ])
    async def test_a_400_names_the_parameter(self, stored: Any, params: dict[str, str],
                                             field: str) -> None:
        storage, _, _ = stored
        answer = await get(storage, "tok-a", "/engagement", **params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["success"] is False
        assert answer.json()["error"]["field"] == field

    @pytest.mark.parametrize("shift", [timedelta(seconds=-120), timedelta(seconds=120)])
    async def test_as_of_more_than_60_s_back_or_ahead_is_a_400(self, stored: Any,
                                                               shift: timedelta) -> None:
        storage, _, _ = stored
        text = utc_text((await server_now(storage)) + shift)
        for path in ("/engagement", "/contacts/c_b9/engagement"):
            answer = await get(storage, "tok-a", path, asOf=text)
            assert answer.status_code == 400 and answer.json()["error"]["field"] == "asOf"

    async def test_a_cursor_of_another_query_or_tenant_is_a_400(self, stored: Any) -> None:
        storage, _, _ = stored
        b = (await get(storage, "tok-b", "/engagement", limit="1")).json()["data"]
        foreign = await get(storage, "tok-a", "/engagement", limit="1", cursor=b["nextCursor"])
        assert foreign.status_code == 400 and foreign.json()["error"]["field"] == "cursor"
        a = (await get(storage, "tok-a", "/engagement", limit="1")).json()["data"]
        other = await get(storage, "tok-a", "/engagement", limit="1", level="low",
                          cursor=a["nextCursor"])
        assert other.status_code == 400 and other.json()["error"]["field"] == "cursor"
        moved = await get(storage, "tok-a", "/engagement", limit="1", cursor=a["nextCursor"],
                          asOf=utc_text(await server_now(storage) - timedelta(seconds=5)))
        assert moved.status_code == 400 and moved.json()["error"]["field"] == "asOf"

    async def test_a_contact_id_too_long_is_a_400(self, stored: Any) -> None:
        storage, _, _ = stored
        answer = await get(storage, "tok-a", f"/contacts/{'c' * 257}/engagement")
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == "contactId"

    async def test_no_token_is_a_401(self, stored: Any) -> None:
        storage, _, _ = stored
        assert (await get(storage, "nope", "/engagement")).status_code == 401
        assert (await get(storage, "nope", "/contacts/c_b9/engagement")).status_code == 401
