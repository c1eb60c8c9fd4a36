"""`GET /live` over real HTTP beside a real nats-server and the ingest service: every
stored event once and in order, nothing of another tenant, resume without loss, bounded
buffers with `dropped`, the stream limit, tickets, and a NATS restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.live_rig import SlowClient, SseEvent, live_rig

from chanalytics.clickhouse.storage import Storage
from chanalytics.nats.server import LocalNatsServer

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]


def _ids(events: list[SseEvent]) -> list[str]:
    return [e.data["id"] for e in events if e.event == "event"]


async def test_each_stored_event_once_in_order_and_only_the_tenants_own(
        storage: Storage, nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig, rig.stream() as stream:
        first = await stream.next()
        assert first.event == "snapshot"
        a_ids = await rig.publish("tenant_a", 150)
        await rig.publish("tenant_b", 150)
        a_ids += await rig.publish("tenant_a", 150, start=150)
        received = await stream.events(300)
        assert _ids(received) == a_ids  # in stream order, each once, none of tenant_b
        cursors = [e.id for e in received]
        assert all(c is not None for c in cursors)
        assert cursors == sorted(set(cursors))  # they increase along the stream
        event = received[0].data
        assert event["type"] == "message_sent" and event["channel"] == "email"
        assert set(event) == {"id", "type", "occurredAt", "channel", "entityType", "entityId",
                              "contactId", "campaignId", "workflowId", "sequenceId",
                              "templateId", "provider"}
        assert event["workflowId"] is None


async def test_filters_by_channel_and_types(storage: Storage,
                                            nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig, \
            rig.stream(channel="sms", types="message_sent,message_clicked") as stream:
        assert (await stream.next()).event == "snapshot"
        await rig.publish("tenant_a", 20, channel="email")
        sms = await rig.publish("tenant_a", 5, start=20, channel="sms")
        assert _ids(await stream.events(5)) == sms


async def test_resume_after_a_disconnect_loses_nothing(
        storage: Storage, nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig:
        async with rig.stream() as stream:
            await stream.next()
            ids = await rig.publish("tenant_a", 40)
            seen = await stream.events(25)
        last = seen[-1].id
        missed = ids[25:] + await rig.publish("tenant_a", 30, start=40)
        await asyncio.sleep(0.5)  # stored while nobody listens
        async with rig.stream(last_event_id=str(last)) as stream:
            resumed = await stream.events(len(missed))
            assert _ids(resumed) == missed  # no snapshot, nothing twice, nothing lost
            more = await rig.publish("tenant_a", 5, start=70)
            assert _ids(await stream.events(5)) == more
        async with rig.stream(last_event_id="12000") as stream:  # a cursor never given
            assert [(await stream.next()).event, (await stream.next()).event] == [
                "reset", "snapshot"]


async def test_a_client_that_never_reads_gets_dropped_and_others_miss_nothing(
        storage: Storage, nats_server: LocalNatsServer) -> None:
    """The tenant's feed keeps 3,000 events here, ingest stores 1,000 at a time: the
    client that reads falls behind by at most a batch and misses nothing; the one that
    does not read is counted as having dropped what the feed let go."""
    count = 20_000
    async with live_rig(storage, nats_server.url, tail_events=3000, batch_size=1000) as rig, \
            rig.stream() as fast:
        slow = await SlowClient.open(rig.base, "tok-a")
        try:
            assert (await fast.next()).event == "snapshot"
            publishing = asyncio.create_task(rig.publish("tenant_a", count))
            received = await fast.events(count, timeout=240)
            ids = await publishing
            assert _ids(received) == ids and all(e.event == "event" for e in received)
            late = await slow.events(count)  # the snapshot, then the rest
            assert late[0].event == "snapshot"
            dropped = sum(e.data["count"] for e in late if e.event == "dropped")
            assert dropped > 0
            assert len(_ids(late)) + dropped == count
            kept = set(_ids(late))
            assert _ids(late) == [i for i in ids if i in kept]  # in order
        finally:
            slow.close()


async def test_the_twenty_first_stream_is_429(storage: Storage,
                                               nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig:
        streams = [rig.stream() for _ in range(20)]
        opened = [await s.__aenter__() for s in streams]
        try:
            for stream in opened:
                assert (await stream.next()).event == "snapshot"
            response = await rig.client.get(f"{rig.base}/api/v1/analytics/live",
                                             headers={"Authorization": "Bearer tok-a"})
            assert response.status_code == 429
            assert response.json()["error"]["code"] == "too_many_streams"
            async with rig.stream("tok-b") as other:  # another tenant is not limited
                assert (await other.next()).event == "snapshot"
        finally:
            for stream in streams:
                await stream.__aexit__(None, None, None)
        await asyncio.sleep(0.2)  # the server notices the clients left
        async with rig.stream() as again:
            assert (await again.next()).event == "snapshot"


async def test_tickets_are_single_use_and_bad_input_is_refused_before_the_stream(
        storage: Storage, nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig:
        url = f"{rig.base}/api/v1/analytics/live"
        issued = await rig.client.post(f"{url}/tickets",
                                       headers={"Authorization": "Bearer tok-b"})
        assert issued.status_code == 200, issued.text
        data = issued.json()["data"]
        expires = datetime.fromisoformat(data["expiresAt"])
        assert timedelta(seconds=55) < expires - datetime.now(UTC) <= timedelta(seconds=60)
        async with rig.stream(None, ticket=data["ticket"]) as stream:
            assert (await stream.next()).event == "snapshot"
            ids = await rig.publish("tenant_b", 3)
            assert _ids(await stream.events(3)) == ids  # the ticket's tenant
        reused = await rig.client.get(url, params={"ticket": data["ticket"]})
        assert reused.status_code == 401
        for params, headers, status, where in [
            ({"ticket": "nope"}, {}, 401, None),
            ({"ticket": "é"}, {}, 401, None),
            ({}, {}, 401, None),
            ({"types": "message_sent,planet_exploded"}, {}, 400, "types"),
            ({"channel": "pigeon"}, {}, 400, "channel"),
            ({"timezone": "Mars/Olympus"}, {}, 400, "timezone"),
            ({}, {"Last-Event-ID": "abc"}, 400, "Last-Event-ID"),
        ]:
            if status != 401:
                headers = {**headers, "Authorization": "Bearer tok-a"}
            response = await rig.client.get(url, params=params, headers=headers)
            assert response.status_code == status, (params, response.text)
            body = response.json()
            assert body["success"] is False
            if where:
                assert body["error"]["field"] == where


async def test_keep_alive_comments_while_idle(storage: Storage,
                                              nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url, keepalive=0.2) as rig, \
            rig.stream() as stream:
        await stream.next()
        await asyncio.sleep(1)
        ids = await rig.publish("tenant_a", 1)
        assert _ids(await stream.events(1)) == ids
        assert stream.comments >= 2


async def test_the_stream_survives_a_nats_restart(storage: Storage,
                                                  nats_server: LocalNatsServer) -> None:
    async with live_rig(storage, nats_server.url) as rig, rig.stream() as stream:
        await stream.next()
        before = await rig.publish("tenant_a", 5)
        assert _ids(await stream.events(5)) == before
        nats_server.stop()
        await asyncio.sleep(1)
        nats_server.start()
        after = await _publish_when_up(rig, 5)
        assert _ids(await stream.events(5, timeout=90)) == after


async def _publish_when_up(rig: object, count: int) -> list[str]:
    from tests.integration.live_rig import LiveRig
    assert isinstance(rig, LiveRig)
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            return await rig.publish("tenant_a", count, start=1000)
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
