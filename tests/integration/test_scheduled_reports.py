"""Scheduled reports over real ClickHouse, a real HTTP receiver and a real SMTP server on
loopback: the API (CRUD, 400s, tenants), and the scheduler driven step by step with an
injected clock: a tick delivered once, signed, through failing tries; a run resumed after
its scheduler stopped mid-way; missed ticks run once; run history and files; and two
schedulers sharing a NATS lease running each tick once."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import nats
import pytest
from api_events import Maker, store_events
from litestar.testing import AsyncTestClient
from test_deliveries_email import Inbox, smtp_server
from webhook_receiver import Script, receiver

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.coordination.leader import LeaderLoop
from chanalytics.coordination.lease import KvLease
from chanalytics.deliveries import (
    AddressPolicy,
    EmailSender,
    RetryPolicy,
    SmtpServer,
    WebhookSender,
)
from chanalytics.query.engine import Engine
from chanalytics.reports.runner import ReportRunner
from chanalytics.reports.scheduler import ReportScheduler
from chanalytics.reports.store import ReportStore

pytestmark = [pytest.mark.clickhouse,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

TOKENS = {"tok-alpha": "t_alpha", "tok-beta": "t_beta"}
ALPHA = {"Authorization": "Bearer tok-alpha"}
BETA = {"Authorization": "Bearer tok-beta"}
R = "/api/v1/analytics/reports"
FAST = RetryPolicy(tries=4, first_delay=0.01, max_delay=0.05, timeout=5.0)
SECRET = "s3cret-for-tests"
# Every event two hours before the real now: a report over the last day counts them.
SENT = {"email": 7, "sms": 4, "push": 2}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
async def storage(clickhouse_dsn: str) -> AsyncIterator[Storage]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=3650)
    make = Maker("sched")
    at = datetime.now(UTC) - timedelta(hours=2)
    for channel, count in SENT.items():
        for i in range(count):
            make.message("t_alpha", at, "sent", f"m-{channel}-{i}", channel)
    make.message("t_beta", at, "sent", "m-beta", "email")
    await store_events(store, make.pairs)
    yield store
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


class Rig:
    """The API and a scheduler over one storage, on one injected clock."""

    def __init__(self, storage: Storage, client: AsyncTestClient[Any], clock: Clock,
                 smtp_port: int | None) -> None:
        self.storage, self.client, self.clock = storage, client, clock
        self.store = ReportStore(storage)
        self.smtp_port = smtp_port
        self.scheduler = self.new_scheduler()

    def new_scheduler(self) -> ReportScheduler:
        email = None if self.smtp_port is None else EmailSender(
            SmtpServer.from_url(f"smtp://127.0.0.1:{self.smtp_port}"), "reports@example.com",
            FAST, sleep=_no_wait)
        runner = ReportRunner(Engine(self.storage), self.store,
                              WebhookSender(AddressPolicy(["127.0.0.1"]), FAST, sleep=_no_wait),
                              email, clock=self.clock)
        return ReportScheduler(self.store, runner, clock=self.clock)

    async def step(self, scheduler: ReportScheduler | None = None) -> list[str]:
        scheduler = scheduler or self.scheduler

        async def fence() -> None:
            return None

        started = await scheduler.step(fence)
        await scheduler.drain()
        return started

    async def create(self, body: dict[str, Any], headers: dict[str, str] = ALPHA
                     ) -> dict[str, Any]:
        answer = await self.client.post(R, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    async def runs(self, report_id: str) -> list[dict[str, Any]]:
        answer = await self.client.get(f"{R}/{report_id}/runs", headers=ALPHA)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["data"]["items"]
        return items


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    mails = Inbox()
    with smtp_server(mails) as port:
        yield mails, port


@pytest.fixture
async def rig(storage: Storage, inbox: tuple[Inbox, int]) -> AsyncIterator[Rig]:
    clock = Clock()
    settings = load_settings({"CHANALYTICS_API_KEYS": ",".join(
        f"{k}={v}" for k, v in TOKENS.items()),
        "CHANALYTICS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    app = create_app(settings, storage=storage, clock=clock)
    async with AsyncTestClient(app) as client:
        yield Rig(storage, client, clock, inbox[1])
    for table in ("report_definitions", "report_runs"):  # each test's reports its own
        await storage.command(f"TRUNCATE TABLE {table}")


def body(port: int | None = None, *, cron: str = "* * * * *", fmt: str = "csv",
         email: bool = False, **query: Any) -> dict[str, Any]:
    deliveries: list[dict[str, Any]] = []
    if port is not None:
        deliveries.append({"webhook": {"url": f"http://127.0.0.1:{port}/hook",
                                       "secret": SECRET}})
    if email:
        deliveries.append({"email": {"to": ["ops@example.com"]}})
    return {"name": "Sent by channel", "format": fmt,
            "query": {"metrics": ["sent"], "dimensions": ["channel"], "timeRange": "1d",
                      "orderBy": [["channel", "asc"]], **query},
            "schedule": {"cron": cron, "timezone": "Europe/Berlin"}, "deliveries": deliveries}


def expected_csv() -> str:
    """The oracle: sent per channel, channels in order."""
    lines = ["channel,sent", *(f"{c},{n}" for c, n in sorted(SENT.items()))]
    return "\r\n".join(lines) + "\r\n"


def minute_after(instant: datetime, minutes: int = 1) -> datetime:
    return instant.replace(second=0, microsecond=0) + timedelta(minutes=minutes)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class TestDefinitions:
    async def test_create_read_replace_delete(self, rig: Rig) -> None:
        """A report is stored with an id and its next run, listed, replaced and deleted;
        its webhook secret is never shown."""
        created = await rig.create(body(9, cron="0 7 * * 1"))
        assert created["id"].startswith("rep_")
        assert created["deliveries"] == [{"webhook": {"url": "http://127.0.0.1:9/hook",
                                                      "hasSecret": True}}]
        assert SECRET not in json.dumps(created)
        next_run = _at(created["nextRunAt"]).astimezone(
            __import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 7, 0)
        assert created["query"]["timeRange"] == "1d"
        listed = (await rig.client.get(R, headers=ALPHA)).json()["data"]["items"]
        assert [r["id"] for r in listed] == [created["id"]]
        replaced = await rig.client.put(f"{R}/{created['id']}", headers=ALPHA, json={
            **body(), "name": "Renamed", "schedule": {"every": "monthly", "at": "06:30"}})
        assert replaced.status_code == 200, replaced.text
        again = (await rig.client.get(f"{R}/{created['id']}", headers=ALPHA)).json()["data"]
        assert again["name"] == "Renamed" and again["createdAt"] == created["createdAt"]
        assert _at(again["nextRunAt"]).day == 1 and again["deliveries"] == []
        assert (await rig.client.delete(f"{R}/{created['id']}", headers=ALPHA)).status_code == 204
        assert (await rig.client.get(f"{R}/{created['id']}", headers=ALPHA)).status_code == 404
        assert (await rig.client.get(R, headers=ALPHA)).json()["data"]["items"] == []

    BAD: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"schedul": {}}, "schedul"),
        ({"query": {"metrics": ["sent"], "filter": []}}, "query.filter"),
        ({"query": {"metrics": ["nope"]}}, "query.metrics"),
        ({"query": {"metrics": ["sent"], "timeRange": "2w"}}, "query.timeRange"),
        ({"query": {"metrics": ["sent"], "compare": "previous_period"}}, "query.compare"),
        ({"format": "xlsx"}, "format"),
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
        ({"schedule": {"cron": "* * *"}}, "schedule.cron"),
        ({"schedule": {"cron": "* * * * *", "every": "daily"}}, "schedule.cron"),
        ({"schedule": {"every": "daily", "at": "25:00"}}, "schedule.at"),
        ({"schedule": {"every": "hourly", "at": "01:00"}}, "schedule"),
        ({"schedule": {"cron": "* * * * *", "timezone": "Mars/Base"}}, "schedule.timezone"),
        ({"deliveries": [{"webhook": {"url": "http://10.1.2.3/x"}}]},
         "deliveries[0].webhook.url"),
        ({"deliveries": [{"webhook": {"url": "ftp://example.com/x"}}]}, "deliveries"),
        ({"deliveries": [{"email": {"to": ["nobody"]}}]}, "deliveries"),
        ({"name": ""}, "name"),
    ]

    async def test_a_bad_definition_answers_400_naming_the_field(self, rig: Rig) -> None:
        """Every fault of a definition is a 400 whose `field` names it, on POST and PUT;
        nothing is stored."""
        created = await rig.create(body())
        for change, field in self.BAD:
            for method, url in (("POST", R), ("PUT", f"{R}/{created['id']}")):
                answer = await rig.client.request(method, url, json={**body(), **change},
                                                  headers=ALPHA)
                assert answer.status_code == 400, (change, answer.text)
                assert answer.json()["error"]["field"] == field, change
        assert len((await rig.client.get(R, headers=ALPHA)).json()["data"]["items"]) == 1

    async def test_another_tenant_never_sees_or_runs_them(self, rig: Rig) -> None:
        """Tenant beta lists none of alpha's reports and gets 404 for each of its
        endpoints, runs and files included."""
        created = await rig.create(body())
        path = f"{R}/{created['id']}"
        run = (await rig.client.post(f"{path}/run", headers=ALPHA)).json()["data"]["runId"]
        await rig.step()
        assert (await rig.client.get(R, headers=BETA)).json()["data"]["items"] == []
        for method, url in [("GET", path), ("PUT", path), ("DELETE", path),
                            ("POST", f"{path}/run"), ("GET", f"{path}/runs"),
                            ("GET", f"{path}/runs/{run}/file")]:
            answer = await rig.client.request(method, url, headers=BETA, json=body())
            assert answer.status_code == 404, (method, url, answer.text)
        file = await rig.client.get(f"{path}/runs/{run}/file", headers=ALPHA)
        assert file.status_code == 200 and file.text == expected_csv()
        await rig.client.delete(path, headers=ALPHA)


class TestScheduledRuns:
    async def test_a_tick_is_delivered_once_signed_through_failing_tries(
            self, rig: Rig, inbox: tuple[Inbox, int]) -> None:
        """The receiver fails the first two tries: the third delivers the file, signed;
        the e-mail carries it attached; the next step runs nothing more; the run, its
        deliveries' tries and the stored file are in the history."""
        with receiver(Script(fail_first=2)) as (port, script):
            created = await rig.create(body(port, email=True))
            rig.clock.now = minute_after(_at(created["updatedAt"]))
            assert len(await rig.step()) == 1
            assert await rig.step() == []
        assert len(script.received) == 3
        ids = {r.headers["chanalytics-delivery"] for r in script.received}
        assert len(ids) == 1
        last = script.received[-1]
        assert last.body.decode() == expected_csv()
        assert last.headers["chanalytics-event"] == "report.ready"
        assert last.headers["content-type"].startswith("text/csv")
        assert last.headers["chanalytics-signature"] == "sha256=" + hmac.new(
            SECRET.encode(), last.body, hashlib.sha256).hexdigest()
        mails, _ = inbox
        assert len(mails.messages) == 1
        (attachment,) = mails.messages[0][1].iter_attachments()
        assert attachment.get_content().replace("\n", "\r\n") == expected_csv() or \
            attachment.get_content() == expected_csv()
        (run,) = await rig.runs(created["id"])
        assert run["status"] == "succeeded" and run["trigger"] == "schedule"
        assert run["scheduledFor"] == rig.clock.now.isoformat().replace("+00:00", "Z")
        assert (run["rows"], run["bytes"]) == (len(SENT), len(expected_csv()))
        assert [(d["channel"], d["status"], d["tries"], d["lastError"])
                for d in run["deliveries"]] == [("webhook", "delivered", 3, "HTTP 500"),
                                                ("email", "delivered", 1, None)]
        assert run["deliveries"][0]["deliveryId"] in ids
        file = await rig.client.get(f"{R}/{created['id']}/runs/{run['runId']}/file",
                                    headers=ALPHA)
        assert file.status_code == 200 and file.text == expected_csv()
        assert file.headers["content-type"].startswith("text/csv")

    async def test_missed_ticks_run_once_and_relative_ranges_follow_the_run(
            self, rig: Rig) -> None:
        """After ten minutes without a step, one run for the latest minute; a minute later
        one more. A day later the last day holds none of the events: the range is
        relative to each run."""
        with receiver() as (port, script):
            created = await rig.create(body(port, fmt="ndjson"))
            start = minute_after(_at(created["updatedAt"]))
            rig.clock.now = start + timedelta(minutes=9, seconds=30)
            assert len(await rig.step()) == 1
            assert await rig.step() == []
            rig.clock.now += timedelta(minutes=1)
            assert len(await rig.step()) == 1
            rig.clock.now += timedelta(days=1)
            assert len(await rig.step()) == 1
        runs = await rig.runs(created["id"])
        assert [r["scheduledFor"] for r in runs] == [
            (start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z")
            for m in (24 * 60 + 10, 10, 9)]
        assert [r["rows"] for r in runs] == [0, len(SENT), len(SENT)]
        bodies = [[json.loads(line) for line in r.body.splitlines()] for r in script.received]
        assert bodies[0] == [{"channel": c, "sent": n} for c, n in sorted(SENT.items())]
        assert bodies[2] == []
        assert len({r.headers["chanalytics-delivery"] for r in script.received}) == 3

    async def test_a_run_stopped_mid_way_resumes_without_repeating(self, rig: Rig) -> None:
        """A scheduler stopped while its second webhook keeps failing: a new one (a
        restart) takes the run over, does not send the first again, sends the second
        with the same delivery id, and reuses the stored file."""
        with receiver() as (port_a, first), receiver(Script(fail_first=10**6)) as (
                port_b, second):
            report = body(port_a, fmt="json")
            report["deliveries"].append({"webhook": {"url": f"http://127.0.0.1:{port_b}/b"}})
            created = await rig.create(report)
            rig.clock.now = minute_after(_at(created["updatedAt"]))
            slow = WebhookSender(AddressPolicy(["127.0.0.1"]),
                                 RetryPolicy(tries=50, first_delay=0.05, max_delay=0.05))
            stopping = rig.new_scheduler()
            stopping.runner.webhooks = slow

            async def fence() -> None:
                return None

            await stopping.step(fence)
            for _ in range(200):
                if len(second.received) >= 2:
                    break
                await asyncio.sleep(0.02)
            await stopping.stop()  # a restart: the run is left `running`
            (run,) = await rig.runs(created["id"])
            assert run["status"] == "running"
            assert [d["status"] for d in run["deliveries"]] == ["delivered", "pending"]
            second.fail_first = len(second.received)  # the receiver is back
            assert len(await rig.step(rig.new_scheduler())) == 1
        assert len(first.received) == 1
        assert len({r.headers["chanalytics-delivery"] for r in second.received}) == 1
        assert second.received[-1].body == first.received[0].body
        document = json.loads(first.received[0].body)
        assert document["columns"] == [{"name": "channel", "type": "string"},
                                       {"name": "sent", "type": "integer"}]
        assert document["rows"] == [[c, n] for c, n in sorted(SENT.items())]
        (run,) = await rig.runs(created["id"])
        assert run["status"] == "succeeded"
        assert [d["status"] for d in run["deliveries"]] == ["delivered", "delivered"]

    async def test_run_now_and_the_history_newest_first(self, rig: Rig) -> None:
        """`POST /run` answers 202 with the run's id; the scheduler's next step runs it;
        the history lists it before the tick it followed. A failing delivery fails the
        run, naming its error."""
        with receiver(Script(fail_first=10**6)) as (port, script):
            created = await rig.create(body(port))
            rig.clock.now = minute_after(_at(created["updatedAt"]))
            await rig.step()
            rig.clock.now += timedelta(seconds=20)
            answer = await rig.client.post(f"{R}/{created['id']}/run", headers=ALPHA)
            assert answer.status_code == 202
            run_id = answer.json()["data"]["runId"]
            assert await rig.step() == [run_id]
        runs = await rig.runs(created["id"])
        assert [(r["runId"] == run_id, r["trigger"], r["status"]) for r in runs] == [
            (True, "manual", "failed"), (False, "schedule", "failed")]
        assert runs[0]["deliveries"][0] | {"deliveryId": None} == {
            "channel": "webhook", "deliveryId": None, "status": "failed", "tries": 4,
            "lastError": "HTTP 500"}
        assert runs[0]["error"] == "not delivered: webhook"
        assert len(script.received) == 8
        rows = list(csv.reader(io.StringIO((await rig.client.get(
            f"{R}/{created['id']}/runs/{run_id}/file", headers=ALPHA)).text)))
        assert rows[1:] == [[c, str(n)] for c, n in sorted(SENT.items())]


@pytest.mark.nats
@pytest.mark.once  # the lease's logic: the server pass would add nothing
async def test_two_schedulers_on_one_lease_run_each_tick_once(
        storage: Storage, nats_url: str) -> None:
    """Two schedulers (two processes' worth: each its own NATS connection and lease) step
    every 0.1 s on a report due every second, for 2.5 seconds: every tick is run
    once and delivered once, whichever holds the lease."""
    store = ReportStore(storage)
    connections = [await nats.connect(nats_url) for _ in range(2)]
    bucket = f"locks_{uuid.uuid4().hex[:8]}"
    loops: list[LeaderLoop] = []
    schedulers: list[ReportScheduler] = []
    with receiver() as (port, script):
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok-alpha=t_alpha",
                                        "CHANALYTICS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}),
                         storage=storage)
        async with AsyncTestClient(app) as client:
            answer = await client.post(R, headers=ALPHA, json=body(port, cron="* * * * * *"))
            report_id = answer.json()["data"]["id"]
        try:
            for nc in connections:
                runner = ReportRunner(Engine(storage), store,
                                      WebhookSender(AddressPolicy(["127.0.0.1"]), FAST), None)
                scheduler = ReportScheduler(store, runner)
                schedulers.append(scheduler)
                loops.append(LeaderLoop(KvLease(nc.jetstream(), bucket=bucket,
                                                key="report-scheduler", max_poll=0.1),
                                        scheduler.step, interval=0.1, name="reports"))
            for loop in loops:
                loop.start()
            await asyncio.sleep(2.5)
            await store.delete("t_alpha", report_id)
            for loop in loops:
                await loop.stop()
            for scheduler in schedulers:
                await scheduler.drain()
        finally:
            for nc in connections:
                await nc.close()
    runs = await store.runs("t_alpha", report_id)
    assert len(runs) >= 2
    assert len({r.scheduled_for for r in runs}) == len(runs)
    delivered = Counter(r.headers["chanalytics-delivery"] for r in script.received)
    assert set(delivered.values()) == {1}
    assert set(delivered) == {r.deliveries[0].delivery_id for r in runs
                              if r.deliveries[0].status == "delivered"}
    assert all(r.status in ("succeeded", "running") for r in runs)
