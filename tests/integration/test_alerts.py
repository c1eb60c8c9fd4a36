"""Alerts over real ClickHouse, a real NATS server and a real webhook receiver: rules'
CRUD and 400s, a rule's episode delivered once per state change (through retries, a
restart and two evaluating processes), the anomaly and budget detectors on generated
data, and tenant isolation. Time is injected: each round is `evaluate(now)`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError
from tests.integration.api_events import Maker, store_events
from webhook_receiver import Script, receiver

from chanalytics.alerts.detectors import anomaly_observations
from chanalytics.alerts.health import IngestHealth
from chanalytics.alerts.model import SYSTEM
from chanalytics.alerts.notify import STREAM, Dispatcher, JetStreamPublisher, subject_of
from chanalytics.alerts.rules import Rule
from chanalytics.alerts.service import AlertService
from chanalytics.alerts.store import AlertStore
from chanalytics.app import create_app
from chanalytics.budgets import Budget, BudgetStore
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.coordination.lease import KvLease, LocalLock
from chanalytics.deliveries import (
    AddressPolicy,
    Delivery,
    RetryPolicy,
    WebhookSender,
    WebhookTarget,
)
from chanalytics.ingest.drift import check_rollups
from chanalytics.localtime import utc_text
from chanalytics.metrics import ApiMetrics, Metrics
from chanalytics.nats.lag import lag_reader
from chanalytics.query.engine import Engine
from chanalytics.query.presets.realtime import PipelineLag

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # a rule's first evaluation
ANOMALY_HOUR = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)  # the hour with the drop
FAST = RetryPolicy(tries=4, first_delay=0.01, max_delay=0.02, timeout=2.0)
LOOPBACK = AddressPolicy(["127.0.0.1"])
TOKENS = {"tok-a": "t_rule_a", "tok-b": "t_rule_b"}


def _events() -> Maker:
    make = Maker("alert")
    n = 0

    def messages(tenant: str, start: datetime, sent: int, delivered: int, channel: str,
                 span: timedelta = timedelta(minutes=50), cost: float | None = None) -> None:
        nonlocal n
        for i in range(sent):
            at = start + span * i / sent
            n += 1
            extra = {} if cost is None else {"cost": cost}
            make.message(tenant, at, "sent", f"m{n}", channel, **extra)
            if i < delivered:
                make.message(tenant, at + timedelta(seconds=1), "delivered", f"m{n}", channel)

    # Rule tenants: [T0-1h, T0) 30 sent, 20 delivered (66.67%); [T0, T0+1h) all delivered.
    for tenant in ("t_rule_a", "t_rule_b", "t_restart", "t_two", "t_outage"):
        messages(tenant, T0 - timedelta(minutes=55), 30, 20, "email")
        messages(tenant, T0 + timedelta(minutes=5), 30, 30, "email")
    # A rule under minVolume: 5 sent, none delivered.
    messages("t_quiet", T0 - timedelta(minutes=30), 5, 0, "email")
    # Anomaly: 48 hours before ANOMALY_HOUR, email 30 sent/h, 27-29 delivered; sms the
    # same without a drop; push 10 sent/h (too few). Then email drops to 10 of 30.
    for h in range(48, 0, -1):
        start = ANOMALY_HOUR - timedelta(hours=h)
        messages("t_anomaly", start, 30, 27 + h % 3, "email")
        messages("t_anomaly", start, 30, 27 + h % 3, "sms")
        messages("t_anomaly", start, 10, 2, "push")
    messages("t_anomaly", ANOMALY_HOUR, 30, 10, "email")
    messages("t_anomaly", ANOMALY_HOUR, 30, 28, "sms")
    messages("t_anomaly", ANOMALY_HOUR, 10, 0, "push")
    # Budget: 100 USD a month; 8 x 10 USD by 12 May, then 2 x 10 more by 20 May.
    messages("t_budget", datetime(2026, 5, 12, tzinfo=UTC), 8, 8, "sms",
             span=timedelta(hours=8), cost=10.0)
    messages("t_budget", datetime(2026, 5, 20, tzinfo=UTC), 2, 2, "sms",
             span=timedelta(hours=1), cost=10.0)
    return make


@pytest.fixture(scope="module")
async def loaded(clickhouse_dsn: str) -> AsyncIterator[Storage]:
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=36500)
    await store_events(store, _events().pairs)
    yield store
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


@pytest.fixture(scope="module")
async def js(nats_url: str) -> AsyncIterator[Any]:
    conn = await nats.connect(nats_url)
    yield conn.jetstream(timeout=5)
    await conn.close()


@pytest.fixture(autouse=True)
async def _clean(loaded: Storage) -> AsyncIterator[None]:
    """After each test: its rules and budget removed, their alerts resolved, and nothing
    left pending (the evaluator and dispatcher see every tenant)."""
    yield
    store = AlertStore(loaded)
    for tenant, rule in await store.rules():
        await store.put_rule(tenant, rule, deleted=True)
    await BudgetStore(loaded).delete("t_budget")
    await _service(loaded, None).evaluate(T0 + timedelta(days=400))
    await Dispatcher(store, publisher=None, webhooks=None, email=None).send_pending()


def _rule(port: int, rule_id: str, **changes: Any) -> Rule:
    fields: dict[str, Any] = {
        "id": rule_id, "name": "email delivery", "metric": "deliveryRate", "operator": "<",
        "threshold": 90.0, "window_minutes": 60, "channel": "email",
        "deliveries": [Delivery(webhook=WebhookTarget(url=f"http://127.0.0.1:{port}/hook",
                                                      secret="k3y"))]}
    return Rule(**(fields | changes))


async def _no_sleep(_: float) -> None:
    return None


def _service(storage: Storage, js: Any | None, *, lock: Any = None,
             dispatch_lock: Any = None, tenants: frozenset[str] = frozenset(),
             health: IngestHealth | None = None, metrics: ApiMetrics | None = None,
             clock: Any = None) -> AlertService:
    store = AlertStore(storage)
    publisher = None if js is None else JetStreamPublisher(js)
    dispatcher = Dispatcher(store, publisher=publisher,
                            webhooks=WebhookSender(LOOPBACK, FAST, sleep=_no_sleep), email=None)
    return AlertService(store, Engine(storage), BudgetStore(storage),
                        evaluate_lock=lock or LocalLock(),
                        dispatch_lock=dispatch_lock or LocalLock(), dispatcher=dispatcher,
                        tenants=lambda: tenants, health=health, metrics=metrics,
                        **({} if clock is None else {"clock": clock}))


def _unique(script: Script) -> dict[str, dict[str, Any]]:
    """The receiver's requests de-duplicated on the delivery id, as a receiver does; each
    signature checked."""
    out = {}
    for got in script.received:
        expected = "sha256=" + hmac.new(b"k3y", got.body, hashlib.sha256).hexdigest()
        assert got.headers["chanalytics-signature"] == expected
        out[got.headers["chanalytics-delivery"]] = msgspec.json.decode(got.body)
    return out


async def _published(js: Any, tenant: str) -> int:
    try:
        info = await js.stream_info(STREAM, subjects_filter=subject_of(tenant))
    except NotFoundError:  # nothing published yet in this NATS server
        return 0
    return sum((info.state.subjects or {}).values())


@pytest.fixture
def hook() -> Iterator[tuple[int, Script]]:
    with receiver(Script(fail_first=2, fail_status=503)) as found:
        yield found


class TestRuleLifecycle:
    async def test_fires_and_resolves_each_change_delivered_once(
            self, loaded: Storage, js: Any, hook: tuple[int, Script]) -> None:
        """66.67% < 90 fires at T0; the same round again changes nothing; all delivered
        in the next hour resolves it. The receiver fails the first two tries: each change
        arrives once per id, signed, and once on NATS."""
        port, script = hook
        store = AlertStore(loaded)
        await store.put_rule("t_rule_a", _rule(port, "r_a"))
        service = _service(loaded, js)
        fired = await service.evaluate(T0)
        assert [(a.state, a.value) for a in fired] == [("firing", 66.67)]
        assert await service.evaluate(T0 + timedelta(minutes=1)) == []
        assert await service.dispatch() == 1
        resolved = await service.evaluate(T0 + timedelta(hours=1))
        assert [(a.state, a.id) for a in resolved] == [("resolved", fired[0].id)]
        assert await service.dispatch() == 1
        assert await service.dispatch() == 0
        unique = _unique(script)
        assert [b["event"] for b in unique.values()] == ["alert.firing", "alert.resolved"]
        assert len(script.received) == 4  # two failures, then one try per change
        status, outcomes = await store.outcomes("t_rule_a", next(iter(unique))) or ("", [])
        assert status == "done"
        assert [(o["channel"], o["status"]) for o in outcomes] == [
            ("nats", "delivered"), ("webhook", "delivered")]
        assert outcomes[1]["results"] == ["failed", "failed", "delivered"]
        assert await _published(js, "t_rule_a") == 2
        page, _ = await store.page("t_rule_a", state=None, kind="rule", limit=10, cursor=None)
        assert [(a.state, a.rule_id) for a in page] == [("resolved", "r_a")]
        assert page[0].resolved_at == T0 + timedelta(hours=1)

    async def test_a_rate_under_min_volume_is_not_evaluated(self, loaded: Storage) -> None:
        """5 sent of minVolume 20: the rate (0%) is not judged, nothing fires."""
        await AlertStore(loaded).put_rule("t_quiet", _rule(1, "r_q"))
        assert await _service(loaded, None).evaluate(T0) == []

    async def test_a_restart_between_recording_and_delivering(
            self, loaded: Storage, js: Any, hook: tuple[int, Script]) -> None:
        """A process records the firing and dies before sending; another (a new store,
        a new dispatcher) records nothing new and sends it once. A process that dies after
        sending but before marking it done makes the next one send the same id again: the
        receiver and JetStream drop the repeat."""
        port, script = hook
        await AlertStore(loaded).put_rule("t_restart", _rule(port, "r_r"))
        assert len(await _service(loaded, js).evaluate(T0)) == 1  # then "crashes"
        again = _service(loaded, js)
        assert await again.evaluate(T0 + timedelta(minutes=1)) == []
        assert await again.dispatch() == 1
        assert len(await again.evaluate(T0 + timedelta(hours=1))) == 1  # resolved

        class Dies(AlertStore):
            async def delivered(self, *_: Any, **__: Any) -> None:
                raise RuntimeError("killed before marking it done")

        dying = _service(loaded, js)
        dying.dispatcher.store = Dies(loaded)
        with pytest.raises(RuntimeError):
            await dying.dispatch()
        assert await _service(loaded, js).dispatch() == 1
        unique = _unique(script)
        assert [b["event"] for b in unique.values()] == ["alert.firing", "alert.resolved"]
        assert len(script.received) == 5  # 2 failures, firing, resolved twice (same id)
        assert await _published(js, "t_restart") == 2

    async def test_a_nats_outage_leaves_the_delivery_pending(
            self, loaded: Storage, js: Any, hook: tuple[int, Script]) -> None:
        """NATS refuses the first publish: the webhook is sent once, the delivery stays
        pending, and the next pass publishes it without calling the webhook again."""
        port, script = hook
        await AlertStore(loaded).put_rule("t_outage", _rule(port, "r_o", threshold=101.0,
                                                            window_minutes=1440))

        class Flaky(JetStreamPublisher):
            failures = 1

            async def publish(self, subject: str, payload: bytes, msg_id: str) -> None:
                if Flaky.failures:
                    Flaky.failures -= 1
                    raise ConnectionError("NATS is away")
                await super().publish(subject, payload, msg_id)

        service = _service(loaded, js)
        service.dispatcher.publisher = Flaky(js)
        assert len(await service.evaluate(T0)) == 1
        assert await service.dispatch() == 1
        assert await _published(js, "t_outage") == 0
        assert await service.dispatch() == 1  # still pending: NATS only
        assert await service.dispatch() == 0
        assert await _published(js, "t_outage") == 1
        assert len(_unique(script)) == 1 and len(script.received) == 3

    async def test_two_evaluating_processes_record_each_change_once(
            self, loaded: Storage, js: Any, nats_url: str, hook: tuple[int, Script]) -> None:
        """Two services, each with its own NATS connection and lease, evaluate the same
        minute at once: one change is recorded and delivered."""
        port, script = hook
        await AlertStore(loaded).put_rule("t_two", _rule(port, "r_two"))
        key = f"alerts-{uuid.uuid4().hex[:6]}"
        conns = [await nats.connect(nats_url) for _ in range(2)]
        try:
            services = [_service(loaded, js, lock=KvLease(c.jetstream(), key=key),
                                 dispatch_lock=KvLease(c.jetstream(), key=key + "-d"))
                        for c in conns]
            rounds = await asyncio.gather(*(s.evaluate(T0) for s in services))
            assert sorted(len(r) for r in rounds) == [0, 1]
            sent = await asyncio.gather(*(s.dispatch() for s in services))
            assert sorted(sent) == [0, 1]
        finally:
            for c in conns:
                await c.close()
        assert len(_unique(script)) == 1
        assert await _published(js, "t_two") == 1

    async def test_the_loops_evaluate_and_deliver_under_their_locks(
            self, loaded: Storage, hook: tuple[int, Script]) -> None:
        """`run` (the leader loops a process starts) records the firing once however
        many rounds pass and delivers it; cancelled, it frees both locks."""
        port, script = hook
        await AlertStore(loaded).put_rule("t_rule_b", _rule(port, "r_loop"))
        service = _service(loaded, None, clock=lambda: T0)
        running = asyncio.create_task(service.run(every=0.05, dispatch_every=0.05))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if len(script.received) >= 3:  # two failures, then the delivery
                break
        await asyncio.sleep(0.2)  # a few more rounds: nothing new
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert [b["event"] for b in _unique(script).values()] == ["alert.firing"]
        for lock in (service.evaluate_lock, service.dispatch_lock):
            async with asyncio.timeout(1):
                async with lock:
                    pass

    async def test_reannounced_every_24_hours_while_firing(self, loaded: Storage) -> None:
        """A condition that keeps holding is announced again after 24 h, with a new
        delivery id, and not between."""
        store = AlertStore(loaded)
        await store.put_rule("t_rule_b", _rule(1, "r_b", window_minutes=1440,
                                               threshold=99.0, deliveries=[]))
        service = _service(loaded, None)
        first = await service.evaluate(T0 + timedelta(hours=1))
        assert [a.announcements for a in first] == [1]
        assert await service.evaluate(T0 + timedelta(hours=12)) == []
        later = await service.evaluate(T0 + timedelta(hours=25))
        assert [(a.id, a.announcements) for a in later] in ([(first[0].id, 2)], [])
        ids = {o.delivery_id for o in await store.pending()}
        assert len(ids) == 1 + len(later)


class TestDetectors:
    async def test_anomaly_on_a_known_drop_only(self, loaded: Storage) -> None:
        """Email's 33.33% in the hour is far under its 7-day band: anomaly with expected,
        actual and deviation. SMS without a drop holds not; push (10 sent an hour) is not
        judged."""
        found = await anomaly_observations(Engine(loaded), {"t_anomaly"},
                                           ANOMALY_HOUR + timedelta(hours=1, minutes=2))
        by_channel = {o.channel: o for o in found}
        email = by_channel["email"]
        assert email.holds is True and email.value == 33.33
        expected = round(sum(27 + h % 3 for h in range(1, 49)) / 48 / 30 * 100, 2)
        assert email.details["expected"] == expected
        assert email.details["deviation"] == round(33.33 - expected, 2)
        assert by_channel["sms"].holds is False
        assert by_channel["push"].holds is None

    async def test_the_hourly_detector_records_the_anomaly_once(
            self, loaded: Storage) -> None:
        """The service judges each completed hour once: an alert for email, nothing for
        the same hour again."""
        service = _service(loaded, None, tenants=frozenset({"t_anomaly"}))
        at = ANOMALY_HOUR + timedelta(hours=1, minutes=2)
        (found,) = await service.detect_anomalies(at)
        assert (found.kind, found.channel, found.state) == ("anomaly", "email", "firing")
        assert found.public().actual == 33.33 and found.public().expected is not None
        assert await service.detect_anomalies(at + timedelta(minutes=1)) == []

    @pytest.mark.once  # the same statement as the case above
    async def test_anomaly_needs_24_hours_of_history(self, loaded: Storage) -> None:
        """With only the 20 hours before it, the drop is not judged."""
        found = await anomaly_observations(Engine(loaded), {"t_anomaly"},
                                           ANOMALY_HOUR - timedelta(hours=28, minutes=-30))
        assert all(o.holds is None for o in found)

    async def test_budget_fires_once_per_threshold_per_month(self, loaded: Storage) -> None:
        """80 of 100 USD fires 75% once; 100 USD fires 90% and 100% (75% is the same alert,
        announced again after 24 h); June resolves them."""
        await BudgetStore(loaded).put("t_budget", Budget(monthly_budget=100.0))
        service = _service(loaded, None)
        first = await service.evaluate(datetime(2026, 5, 15, tzinfo=UTC))
        assert [(a.kind, a.threshold) for a in first] == [("budget", 75.0)]
        assert await service.evaluate(datetime(2026, 5, 15, 18, tzinfo=UTC)) == []
        more = await service.evaluate(datetime(2026, 5, 21, tzinfo=UTC))
        assert sorted((a.threshold or 0, a.announcements) for a in more) == [
            (75.0, 2), (90.0, 1), (100.0, 1)]
        assert {a.id for a in more if a.threshold == 75.0} == {first[0].id}
        june = await service.evaluate(datetime(2026, 6, 1, 0, 5, tzinfo=UTC))
        assert sorted((a.state, a.threshold or 0) for a in june) == [
            ("resolved", 75.0), ("resolved", 90.0), ("resolved", 100.0)]


class TestIngestHealth:
    """The service-wide conditions, each its own episode on `analytics.alerts.system`."""

    @pytest.fixture
    async def pending(self, js: Any) -> AsyncIterator[tuple[str, Any]]:
        """A stream of its own with one message its consumer has not acknowledged."""
        name = f"HEALTH_{uuid.uuid4().hex[:8]}"
        subject = f"health.{name}"
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
        await js.add_consumer(name, ConsumerConfig(durable_name="c",
                                                   ack_policy=AckPolicy.EXPLICIT))
        await js.publish(subject, b"{}")
        yield name, await js.pull_subscribe_bind("c", stream=name)
        await js.delete_stream(name)

    @staticmethod
    def _firing(metrics: ApiMetrics) -> dict[str, float]:
        return {condition: gauge._value.get()
                for condition, gauge in metrics.ingest_alerts_firing.items()}

    async def test_stalled_ingest_fires_freshness_apart_from_lag(
            self, loaded: Storage, js: Any, pending: tuple[str, Any]) -> None:
        """An event waits and nothing is stored for 10 minutes: lag and freshness fire
        (each read model's staleness carried along). A later insert resolves freshness while
        the event still waits (lag goes on firing); once it is acknowledged lag resolves,
        and freshness stays quiet though nothing is stored: no traffic is no fault. Four
        changes, each published once on the system subject; the gauges follow."""
        stream, sub = pending
        now = datetime.now(UTC) + timedelta(minutes=10)
        clock = [now]
        lag: PipelineLag = lag_reader(js, stream, "c", clock=lambda: clock[0].timestamp())
        metrics = ApiMetrics()
        service = _service(loaded, js, health=IngestHealth(loaded, lag, 300.0),
                           metrics=metrics)
        before = await _published(js, SYSTEM)
        fired = {a.condition: a for a in await service.evaluate(now)}
        assert sorted(fired) == ["ingest:freshness", "ingest:lag"]
        assert {a.state for a in fired.values()} == {"firing"}
        fresh = fired["ingest:freshness"]
        assert fresh.value is not None and fresh.value >= 600 and fresh.threshold == 300
        models = fresh.details["readModels"]
        assert set(models) == {"contact_hourly", "campaign_daily", "tenant_daily"}
        assert models["tenant_daily"] >= 600  # the others hold nothing yet: None
        assert all(s is None or s >= 600 for s in models.values())
        assert self._firing(metrics) == {"ingest:lag": 1, "ingest:freshness": 1,
                                         "ingest:drift": 0}
        # A batch stored a minute later (an insert of its own instant, as a backfill's):
        # every read model and tenant_freshness hold it.
        stored = now + timedelta(minutes=1)
        row = {"id": "health-1", "tenant_id": "t_health", "event_type": "message_sent",
               "entity_type": "message", "entity_id": "m1", "channel": "email",
               "contact_id": "c1", "campaign_id": "k1",
               "occurred_at": "2026-02-01T00:00:00Z", "ingested_at": utc_text(stored)}
        await loaded.insert_json("analytics_events", list(row), msgspec.json.encode(row))
        clock[0] = now + timedelta(minutes=2)
        resolved = await service.evaluate(clock[0])
        assert [(a.condition, a.state) for a in resolved] == [("ingest:freshness", "resolved")]
        assert self._firing(metrics)["ingest:lag"] == 1
        (message,) = await sub.fetch(1, timeout=5)
        await message.ack_sync()
        clock[0] = now + timedelta(minutes=30)  # nothing stored since, nothing waiting
        resolved = await service.evaluate(clock[0])
        assert [(a.condition, a.state) for a in resolved] == [("ingest:lag", "resolved")]
        assert self._firing(metrics) == {"ingest:lag": 0, "ingest:freshness": 0,
                                         "ingest:drift": 0}
        assert await service.dispatch() == 4
        assert await service.dispatch() == 0
        assert await _published(js, SYSTEM) == before + 4
        # Service-wide: no tenant's list shows them.
        page, _ = await AlertStore(loaded).page("t_health", state=None, kind=None, limit=10,
                                                cursor=None)
        assert page == []

    async def test_drift_fires_until_a_clean_check(self, loaded: Storage, js: Any) -> None:
        """A check that finds a derived table disagreeing with the raw table fires
        `ingest:drift` in any process that reads the kept result; a later clean check
        resolves it. Without NATS, lag and freshness are not judged."""
        # Two days ago (a check's result expires after 30 days), in event_ids, not raw.
        spurious = (datetime.now(UTC) - timedelta(days=2)).replace(minute=30, second=0,
                                                                  microsecond=0)
        row = {"id": "drift-1", "tenant_id": "t_drift", "occurred_at": utc_text(spurious)}
        await loaded.insert_json("event_ids", list(row), msgspec.json.encode(row))
        metrics = ApiMetrics()
        service = _service(loaded, js, health=IngestHealth(loaded, None, 300.0),
                           metrics=metrics)
        before = await _published(js, SYSTEM)
        assert await check_rollups(loaded, Metrics(), recheck_after=0,
                                   now=spurious + timedelta(hours=1)) == 1
        (fired,) = await service.evaluate(spurious + timedelta(hours=1, minutes=1))
        assert (fired.condition, fired.state, fired.value) == ("ingest:drift", "firing", 1.0)
        assert fired.details["tables"] == ["event_ids"] and "event_ids" in fired.message
        assert fired.details["findings"][0]["tenantId"] == "t_drift"
        assert metrics.ingest_alerts_firing["ingest:drift"]._value.get() == 1
        assert await service.evaluate(spurious + timedelta(hours=1, minutes=2)) == []
        later = spurious + timedelta(hours=10)  # its window no longer holds the row
        assert await check_rollups(loaded, Metrics(), recheck_after=0, now=later) == 0
        (resolved,) = await service.evaluate(later + timedelta(minutes=1))
        assert (resolved.id, resolved.state) == (fired.id, "resolved")
        assert metrics.ingest_alerts_firing["ingest:drift"]._value.get() == 0
        assert await service.dispatch() == 2
        assert await _published(js, SYSTEM) == before + 2


class TestApi:
    @pytest.fixture
    async def client(self, loaded: Storage) -> AsyncIterator[AsyncTestClient[Any]]:
        keys = ",".join(f"{t}={n}" for t, n in TOKENS.items())
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": keys,
                                        "CHANALYTICS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}),
                         storage=loaded, clock=lambda: T0)
        async with AsyncTestClient(app) as found:
            yield found

    BODY: ClassVar[dict[str, Any]] = {
        "name": "drop", "metric": "deliveryRate", "channel": "email", "operator": "<",
        "threshold": 90, "windowMinutes": 60,
            "deliveries": [{"webhook": {"url": "http://127.0.0.1:9/h", "secret": "zz"}}]}

    async def test_crud_and_test(self, client: AsyncTestClient[Any]) -> None:
        """Create, read, list, replace, test, delete; the secret never answered."""
        auth = {"Authorization": "Bearer tok-a"}
        created = await client.post("/api/v1/analytics/alerts/rules", json=self.BODY,
                                    headers=auth)
        assert created.status_code == 201, created.text
        rule = created.json()["data"]
        assert rule["deliveries"] == [{"webhook": {"url": "http://127.0.0.1:9/h",
                                                   "hasSecret": True}}]
        assert "zz" not in created.text and rule["minVolume"] == 20
        path = f"/api/v1/analytics/alerts/rules/{rule['id']}"
        assert (await client.get(path, headers=auth)).json()["data"] == rule
        listed = (await client.get("/api/v1/analytics/alerts/rules", headers=auth)).json()
        assert rule["id"] in [r["id"] for r in listed["data"]["items"]]
        tested = await client.post(path + "/test", headers=auth)
        assert tested.status_code == 200
        assert tested.json()["data"] | {"evaluatedAt": None} == {
            "ruleId": rule["id"], "evaluatedAt": None, "value": 66.67, "volume": 30,
            "holds": True, "reason": None}
        replaced = await client.put(path, json=self.BODY | {"threshold": 50}, headers=auth)
        assert replaced.json()["data"]["threshold"] == 50
        assert replaced.json()["data"]["createdAt"] == rule["createdAt"]
        tested = (await client.post(path + "/test", headers=auth)).json()["data"]
        assert tested["holds"] is False
        other = {"Authorization": "Bearer tok-b"}
        assert (await client.get(path, headers=other)).status_code == 404
        assert (await client.delete(path, headers=other)).status_code == 404
        assert (await client.delete(path, headers=auth)).status_code == 204
        assert (await client.get(path, headers=auth)).status_code == 404

    BAD: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"metric": "nope"}, "metric"),
        ({"operator": "=="}, "operator"),
        ({"windowMinutes": 4}, "windowMinutes"),
        ({"windowMinutes": 1441}, "windowMinutes"),
        ({"filter": 1}, "filter"),
        ({"channel": "pigeon"}, "channel"),
        ({"metric": "ingestLagSeconds"}, "channel"),
        ({"deliveries": [{"webhook": {"url": "http://10.1.2.3/h"}}]},
         "deliveries[0].webhook.url"),
        ({"deliveries": [{"webhook": {"url": "ftp://x/h"}}]}, "deliveries"),
        ({"deliveries": [{"email": {"to": ["a@b.c"], "cc": []}}]}, "deliveries[0].email.cc"),
        ({"name": None}, "name"),
    ]

    @pytest.mark.once  # the body's checks run no SQL
    async def test_bad_bodies_name_the_field(self, client: AsyncTestClient[Any]) -> None:
        """Each fault is a 400 naming the key (a private webhook address included)."""
        fields = []
        for change, _ in self.BAD:
            answer = await client.post("/api/v1/analytics/alerts/rules",
                                       json=self.BODY | change,
                                       headers={"Authorization": "Bearer tok-a"})
            assert answer.status_code == 400, answer.text
            fields.append(answer.json()["error"]["field"])
        assert fields == [field for _, field in self.BAD]

    async def test_alerts_listed_per_tenant_newest_first(
            self, client: AsyncTestClient[Any], loaded: Storage) -> None:
        """A tenant sees its own alerts only, by pages; bad filters are 400s."""
        service = _service(loaded, None)
        store = AlertStore(loaded)
        for n in range(3):
            await store.put_rule("t_rule_b", _rule(1, f"r_list{n}", threshold=95.0 - n,
                                                   deliveries=[]))
        await service.evaluate(T0)
        auth = {"Authorization": "Bearer tok-b"}
        first = (await client.get("/api/v1/analytics/alerts?limit=2&state=firing",
                                  headers=auth)).json()["data"]
        assert len(first["items"]) == 2 and first["nextCursor"]
        rest = (await client.get(f"/api/v1/analytics/alerts?limit=2&state=firing&cursor="
                                 f"{first['nextCursor']}", headers=auth)).json()["data"]
        items = first["items"] + rest["items"]
        assert {a["ruleId"] for a in items} >= {"r_list0", "r_list1", "r_list2"}
        assert [a["startedAt"] for a in items] == sorted(
            (a["startedAt"] for a in items), reverse=True)
        assert set(items[0]) >= {"id", "kind", "ruleId", "state", "startedAt", "resolvedAt",
                                 "metric", "channel", "provider", "value", "threshold",
                                 "message"}
        mine = (await client.get("/api/v1/analytics/alerts",
                                 headers={"Authorization": "Bearer tok-a"})).json()["data"]
        assert not {a["ruleId"] for a in mine["items"]} & {"r_list0", "r_list1", "r_list2"}
        bad = await client.get("/api/v1/analytics/alerts?kind=x", headers=auth)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "kind"
