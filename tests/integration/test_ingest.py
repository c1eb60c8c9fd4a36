"""Ingest against a real nats-server and a real ClickHouse: every event counted exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

import msgspec
import nats
import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings, load_settings
from chanalytics.ingest.service import IngestService
from chanalytics.mappers.events import SUBJECTS
from chanalytics.metrics import Metrics
from chanalytics.nats.server import LocalNatsServer

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]

DATA: dict[str, dict[str, Any]] = {
    "pipeline": {"messageId": "m-1", "channel": "email", "contactId": "c-1",
                 "sourceType": "campaign", "sourceId": "cmp-1", "templateId": "tpl-1",
                 "templateName": "Welcome", "provider": "ses", "cost": 0.01, "stepNumber": 2},
    "campaign": {"campaignId": "cmp-1", "name": "Launch", "channel": "email",
                 "recipientCount": 10},
    "workflow": {"workflowId": "wf-1", "runId": "run-1", "name": "Onboarding",
                 "contactId": "c-1", "status": "failed"},
    "sequence": {"sequenceId": "seq-1", "enrollmentId": "enr-1", "name": "Follow-up",
                 "contactId": "c-1", "stepNumber": 1},
    "contact": {"contactId": "c-1", "source": "import"},
}


def envelope(event_id: str, subject: str, tenant: str = "tenant_a",
             timestamp: str = "2026-01-20T10:15:30.123Z") -> bytes:
    data = DATA[subject.split(".")[0]]
    return msgspec.json.encode(
        {"id": event_id, "tenantId": tenant, "timestamp": timestamp, "data": data})


def settings_for(names: dict[str, str], **extra: Any) -> Settings:
    values: dict[str, Any] = {"ingest_batch_size": 500, "ingest_flush_interval_ms": 100,
                              "ingest_ack_wait_ms": 1500, **names, **extra}
    return load_settings({}, **values)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def count(storage: Storage, sql: str = "SELECT count() FROM analytics_events") -> int:
    return int((await storage.query(sql))[0][0])


ROLLUP_SENT = "SELECT sum(events) FROM message_counts_15m"
SENT = "pipeline.message.sent"


class Harness:
    """A real ingest service plus a publisher, for one test."""

    def __init__(self, storage: Storage, url: str, settings: Settings) -> None:
        self.storage, self.url, self.settings = storage, url, settings
        self.metrics = Metrics()
        self.service: IngestService | None = None
        self.nc: Any = None

    async def start(self) -> IngestService:
        self.service = IngestService(self.settings, self.storage, self.metrics, self.url)
        await self.service.start()
        return self.service

    async def publish(self, subject: str, payload: bytes, msg_id: str | None = None) -> None:
        if self.nc is None:
            self.nc = await nats.connect(self.url, max_reconnect_attempts=-1)
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await self.nc.jetstream().publish(subject, payload, headers=headers)

    async def dead_letters(self) -> Any:
        """A pull subscription on this harness's dead-letter stream."""
        if self.nc is None:
            self.nc = await nats.connect(self.url)
        return await self.nc.jetstream().pull_subscribe(
            "analytics.dlq.>", durable="inspect", stream=self.settings.dlq_stream)

    async def close(self) -> None:
        if self.service is not None:
            await self.service.stop()
        if self.nc is None:
            self.nc = await nats.connect(self.url)
        js = self.nc.jetstream()
        for stream in (self.settings.stream_name, self.settings.dlq_stream):
            with contextlib.suppress(Exception):  # the next test needs the subjects free
                await js.delete_stream(stream)
        await self.nc.close()


@pytest.fixture
async def harness(storage: Storage, nats_url: str,
                  stream_names: dict[str, str]) -> AsyncIterator[Harness]:
    h = Harness(storage, nats_url, settings_for(stream_names))
    await h.start()
    yield h
    await h.close()


class TestSubjects:
    async def test_each_subject_lands_as_the_contract_says(self, harness: Harness) -> None:
        """One event of every subject becomes one row with the contract's mapping."""
        for i, subject in enumerate(SUBJECTS):
            await harness.publish(subject, envelope(f"e-{i}", subject), f"e-{i}")
        await eventually(lambda: _equals(count(harness.storage), len(SUBJECTS)))
        await _drained(harness)  # the views' inserts have returned too
        rows = await harness.storage.query(
            "SELECT event_type, entity_type, entity_id, campaign_id, workflow_id, sequence_id, "
            "template_id, status, step_number FROM analytics_events ORDER BY event_type")
        by_type = {r[0]: r[1:] for r in rows}
        assert by_type["message_sent"] == ("message", "m-1", "cmp-1", "", "", "tpl-1", "", 2)
        assert by_type["campaign_started"][:3] == ("campaign", "cmp-1", "cmp-1")
        assert by_type["workflow_run_completed"][:5] == ("workflow", "run-1", "", "wf-1", "")
        assert by_type["workflow_run_completed"][6] == "failed"
        assert by_type["workflow_run_started"][6] == ""
        assert by_type["sequence_step_executed"][:5] == ("sequence", "enr-1", "", "", "seq-1")
        assert by_type["contact_created"][:2] == ("contact", "c-1")
        assert set(by_type) == {s.removeprefix("pipeline.").replace(".", "_") for s in SUBJECTS}
        names = await harness.storage.query(
            "SELECT entity_kind, entity_id, argMaxMerge(name) FROM entity_names "
            "GROUP BY ALL ORDER BY ALL")
        assert names == [("campaign", "cmp-1", "Launch"), ("sequence", "seq-1", "Follow-up"),
                         ("template", "tpl-1", "Welcome"), ("workflow", "wf-1", "Onboarding")]


class TestExactlyOnce:
    async def test_republished_duplicate_counts_once(self, harness: Harness) -> None:
        """The same event published again later with another Nats-Msg-Id is stored once."""
        payload = envelope("dup-1", "pipeline.message.sent")
        await harness.publish("pipeline.message.sent", payload, "publish-1")
        await eventually(lambda: _equals(count(harness.storage), 1))
        await harness.publish("pipeline.message.sent", payload, "publish-2")
        await harness.publish("pipeline.message.sent", envelope("other", "pipeline.message.sent"))
        await eventually(lambda: _equals(count(harness.storage), 2))
        await _drained(harness)
        assert await count(harness.storage, ROLLUP_SENT) == 2
        assert harness.metrics.duplicates_skipped._value.get() == 1

    async def test_duplicates_inside_one_batch_count_once(self, harness: Harness) -> None:
        """Copies of one event fetched in the same batch are stored once."""
        payload = envelope("dup-2", "pipeline.message.opened")
        for i in range(5):
            await harness.publish("pipeline.message.opened", payload, f"copy-{i}")
        await _drained(harness)
        assert await count(harness.storage) == 1
        assert await count(harness.storage, ROLLUP_SENT) == 1

    async def test_redelivery_after_crash_between_insert_and_ack(
        self, storage: Storage, nats_url: str, stream_names: dict[str, str]
    ) -> None:
        """Rows stored by a process that died before acking are not stored again."""
        first = Harness(storage, nats_url, settings_for(stream_names))
        service = await first.start()
        assert service.consumer is not None

        async def crash_after_insert(*_: Any, **__: Any) -> None:
            await asyncio.sleep(3600)  # never acks; the process "dies" here

        service.consumer._acknowledge = crash_after_insert  # type: ignore[method-assign]
        for i in range(50):
            await first.publish(SENT, envelope(f"r-{i}", SENT))
        await eventually(lambda: _equals(count(storage), 50))
        # Kill: drop the connection without acking anything.
        assert service.nc is not None
        await service.nc.close()
        if service._task is not None:
            service._task.cancel()
        second = Harness(storage, nats_url, settings_for(stream_names))
        await second.start()
        try:
            # On a server the dead process may still hold the insert lease, at most for
            # its TTL (5 s); its messages come back after `ack_wait` (1.5 s here).
            await _drained(second, timeout=20)
            assert second.metrics.redeliveries._value.get() >= 50
            assert await count(storage) == 50
            assert await count(storage, ROLLUP_SENT) == 50
        finally:
            await second.close()
            if first.nc is not None:
                await first.nc.close()

    async def test_restamped_copy_counts_once_and_the_first_copy_wins(
        self, harness: Harness
    ) -> None:
        """An event re-sent with another `timestamp` (a publisher that re-stamps on retry) is
        the same event: counted once, in raw, rollups and distinct keys, at the time of the
        copy stored first — whether the copies arrive in one batch or far apart."""
        opened = "pipeline.message.opened"
        await harness.publish(SENT, envelope("st-1", SENT, timestamp="2026-01-20T10:00:00Z"))
        await harness.publish(opened, envelope("st-2", opened, timestamp="2026-01-20T10:05:00Z"))
        await eventually(lambda: _equals(count(harness.storage), 2))
        await _drained(harness)
        for i in range(25):  # one second later, in one batch: a week's counts must not move
            await harness.publish(SENT, envelope("st-1", SENT,
                                                 timestamp=f"2026-01-20T10:00:{i + 1:02d}Z"))
            await harness.publish(opened, envelope("st-2", opened,
                                                   timestamp=f"2026-01-21T09:00:{i:02d}Z"))
        await _drained(harness)
        assert await count(harness.storage) == 2
        assert await count(harness.storage, ROLLUP_SENT) == 2
        assert await harness.storage.query(
            "SELECT id, occurred_at FROM analytics_events ORDER BY id") == [
            ("st-1", datetime(2026, 1, 20, 10, 0)), ("st-2", datetime(2026, 1, 20, 10, 5))]
        assert await harness.storage.query(
            "SELECT toString(day), count() FROM distinct_keys_1d WHERE kind = 'message' "
            "GROUP BY day") == [("2026-01-20", 1)]
        assert harness.metrics.duplicates_skipped._value.get() == 50

    async def test_null_optionals_are_stored_as_absent(self, harness: Harness) -> None:
        """Publishers that send `null` for missing optional fields are not dead-lettered."""
        data = {"messageId": "m-9", "channel": "sms", "contactId": None, "templateId": None,
                "cost": None, "geo": None, "userAgent": None, "machineOpen": None}
        payload = msgspec.json.encode({"id": "nul-1", "tenantId": "tenant_a", "type": None,
                                       "timestamp": "2026-01-20T10:15:30Z", "data": data})
        await harness.publish(SENT, payload)
        await eventually(lambda: _equals(count(harness.storage), 1))
        assert await harness.storage.query(
            "SELECT contact_id, template_id, cost, geo_country, machine_open "
            "FROM analytics_events") == [("", "", None, "", False)]

    @pytest.mark.parametrize("table", ["ingest_staging", "analytics_events"])
    async def test_write_retried_after_it_succeeded_counts_once(
        self, harness: Harness, table: str
    ) -> None:
        """A staging insert or a move reported failed although it had succeeded is retried
        without a duplicate, and leaves nothing staged."""
        failures = iter([True])
        harness.storage.insert_fault = (
            lambda phase, target: phase == "after" and target == table
            and next(failures, False))
        for i in range(20):
            await harness.publish(SENT, envelope(f"t-{i}", SENT))
        await _drained(harness)
        harness.storage.insert_fault = None
        assert await count(harness.storage) == 20
        assert await count(harness.storage, ROLLUP_SENT) == 20
        assert harness.metrics.insert_errors._value.get() >= 1
        assert await count(harness.storage, "SELECT count() FROM ingest_staging") == 0
        assert await count(harness.storage, "SELECT count() FROM ingest_ready") == 0

    async def test_storage_outage_loses_nothing(self, harness: Harness) -> None:
        """While inserts fail, nothing is acked or lost; ingest catches up by itself."""
        loop = asyncio.get_running_loop()
        until = loop.time() + 2.0
        harness.storage.insert_fault = lambda phase, _: phase == "before" and loop.time() < until
        for i in range(100):
            await harness.publish(SENT, envelope(f"o-{i}", SENT))
        await asyncio.sleep(1.0)
        assert await count(harness.storage) == 0
        await _drained(harness, timeout=30)
        harness.storage.insert_fault = None
        assert await count(harness.storage) == 100
        assert await count(harness.storage, ROLLUP_SENT) == 100


class TestSeveralWorkers:
    async def test_two_workers_on_one_consumer_count_exactly(
        self, storage: Storage, nats_url: str, stream_names: dict[str, str]
    ) -> None:
        """Two ingest services sharing the durable consumer store each event once,
        even when every event is published twice at once."""
        settings = settings_for(stream_names, ingest_batch_size=50)
        workers = [IngestService(settings, storage, Metrics(), nats_url, shared_lock=True)
                   for _ in range(2)]
        publisher = Harness(storage, nats_url, settings)
        for w in workers:
            await w.start()
        try:
            for copy in ("first", "again"):  # copies far apart: different workers' fetches
                for i in range(300):
                    await publisher.publish(SENT, envelope(f"w-{i}", SENT), f"{copy}-{i}")
            publisher.service = workers[0]
            await _drained(publisher, timeout=60)
            assert await count(storage) == 300
            assert await count(storage, ROLLUP_SENT) == 300
        finally:
            for w in workers[1:]:
                await w.stop()
            await publisher.close()


class TestDeadLetter:
    INVALID: ClassVar[list[tuple[str, bytes, str]]] = [
        ("pipeline.message.sent", b"", "empty-payload"),
        ("pipeline.message.sent", b"{not json", "invalid-json"),
        ("pipeline.message.sent", json.dumps({"tenantId": "t", "timestamp": 1,
         "data": DATA["pipeline"]}).encode(), "invalid-envelope"),
        ("pipeline.message.sent", json.dumps({"id": "x1", "tenantId": "t", "timestamp":
         "2026-01-01T00:00:00", "data": DATA["pipeline"]}).encode(), "invalid-timestamp"),
        ("pipeline.message.sent", json.dumps({"id": "x2", "tenantId": "t", "timestamp":
         "2026-01-01T00:00:00Z", "type": "message_opened", "data": DATA["pipeline"]}).encode(),
         "type-mismatch"),
        ("pipeline.message.sent", json.dumps({"id": "x3", "tenantId": "t", "timestamp":
         "2026-01-01T00:00:00Z", "data": {**DATA["pipeline"], "channel": "fax"}}).encode(),
         "invalid-data"),
    ]

    async def test_every_invalid_kind_is_dead_lettered_with_its_reason(
        self, harness: Harness
    ) -> None:
        """Each invalid event lands in the DLQ stream with reason headers; the rest is stored."""
        for subject, payload, _ in self.INVALID:
            await harness.publish(subject, payload)
        await harness.publish("pipeline.message.sent", envelope("ok-1", "pipeline.message.sent"))
        await _drained(harness)
        assert await count(harness.storage) == 1
        js = harness.nc.jetstream()
        dlq = harness.settings.dlq_stream
        sub = await js.pull_subscribe("analytics.dlq.>", durable="inspect", stream=dlq)
        got = await sub.fetch(len(self.INVALID), timeout=5)
        reasons = sorted(m.subject.removeprefix("analytics.dlq.") for m in got)
        assert reasons == sorted(code for _, _, code in self.INVALID)
        for m in got:
            assert m.headers["Chanalytics-Subject"] == "pipeline.message.sent"
            assert m.headers["Chanalytics-Error"]
            assert int(m.headers["Chanalytics-Stream-Seq"]) >= 1
        originals = {payload for _, payload, _ in self.INVALID}
        assert {m.data for m in got} == originals


class TestMaxDeliveries:
    async def test_message_redelivered_too_often_is_dead_lettered(
        self, storage: Storage, nats_url: str, stream_names: dict[str, str]
    ) -> None:
        """A message that keeps coming back unstored goes to the DLQ after the limit."""
        settings = settings_for(stream_names, ingest_max_deliveries=1)
        first = Harness(storage, nats_url, settings)
        service = await first.start()
        assert service.consumer is not None and service.nc is not None

        async def never_store(*_: Any, **__: Any) -> None:
            await asyncio.sleep(3600)  # this process dies before storing anything

        service.consumer._flush = never_store  # type: ignore[method-assign]
        await first.publish(SENT, envelope("poison", SENT))
        await asyncio.sleep(0.5)
        await service.nc.close()
        if service._task is not None:
            service._task.cancel()
        second = Harness(storage, nats_url, settings)
        await second.start()
        try:
            await _drained(second, timeout=30)
            assert await count(storage) == 0
            sub = await second.dead_letters()
            got = await sub.fetch(1, timeout=5)
            assert got[0].subject == "analytics.dlq.max-deliveries"
            assert got[0].headers["Chanalytics-Error"].startswith("delivered 2 times")
        finally:
            await second.close()
            if first.nc is not None:
                await first.nc.close()


class TestNatsRestart:
    async def test_ingest_resumes_after_nats_restart(
        self, storage: Storage, nats_server: LocalNatsServer, stream_names: dict[str, str]
    ) -> None:
        """After the NATS server restarts, the consumer fetches again by itself."""
        h = Harness(storage, nats_server.url, settings_for(stream_names))
        await h.start()
        try:
            for i in range(10):
                await h.publish(SENT, envelope(f"a-{i}", SENT))
            await eventually(lambda: _equals(count(storage), 10))
            nats_server.stop()
            await asyncio.sleep(1.0)
            nats_server.start()
            await eventually(lambda: _connected(h), timeout=20)
            for i in range(10):
                await h.publish(SENT, envelope(f"b-{i}", SENT))
            await eventually(lambda: _equals(count(storage), 20), timeout=30)
            # Acknowledged only once the insert, views included, has returned; with several
            # storage clients a read may see the raw part before the rollups' parts.
            await _drained(h, timeout=30)
            assert await count(storage, ROLLUP_SENT) == 20
        finally:
            await h.close()


class TestNatsRestartUnderLoad:
    async def test_restart_while_publishing_and_ingesting(
        self, storage: Storage, nats_server: LocalNatsServer, stream_names: dict[str, str]
    ) -> None:
        """Restarting NATS mid-stream loses nothing and counts nothing twice."""
        h = Harness(storage, nats_server.url, settings_for(stream_names))
        await h.start()
        total = 3000

        async def publish_all() -> None:
            for i in range(total):
                while True:  # a publisher retries; a lost PubAck then makes a duplicate
                    try:
                        await h.publish(SENT, envelope(f"l-{i}", SENT))
                        break
                    except Exception:
                        await asyncio.sleep(0.1)

        try:
            publisher = asyncio.create_task(publish_all())
            await eventually(lambda: _at_least(count(storage), 500), timeout=30)
            nats_server.stop()
            await asyncio.sleep(1.0)
            nats_server.start()
            await asyncio.wait_for(publisher, timeout=120)
            await eventually(lambda: _equals(count(storage), total), timeout=60)
            await _drained(h, timeout=30)
            assert await count(storage) == total
            assert await count(storage, ROLLUP_SENT) == total
        finally:
            await h.close()


async def _at_least(value: Awaitable[int], expected: int) -> bool:
    return await value >= expected


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _connected(h: Harness) -> bool:
    return bool(h.service and h.service.nc and h.service.nc.is_connected)


async def _drained(h: Harness, timeout: float = 20.0) -> None:
    """Wait until the consumer has nothing pending and nothing unacknowledged."""
    assert h.service is not None and h.service.js is not None
    js, s = h.service.js, h.settings

    async def done() -> bool:
        info = await js.consumer_info(s.stream_name, s.consumer_name)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(done, timeout)
