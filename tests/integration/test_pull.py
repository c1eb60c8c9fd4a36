"""`JetStreamPull` against a real nats-server: batches, late answers, server errors."""

from __future__ import annotations

from typing import Any

import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from chanalytics.ingest.delivery import delivery_of
from chanalytics.ingest.pull import JetStreamPull

pytestmark = [pytest.mark.nats, pytest.mark.once]


async def _stream(nc: Any, names: dict[str, str], messages: int) -> Any:
    js = nc.jetstream()
    stream, durable = names["stream_name"], names["consumer_name"]
    await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"]))
    await js.add_consumer(stream, ConsumerConfig(durable_name=durable,
                                                 ack_policy=AckPolicy.EXPLICIT, ack_wait=30))
    for i in range(messages):
        await js.publish(f"{stream}.x", str(i).encode())
    return js


async def test_fetch_returns_batches_in_stream_order(nc: Any,
                                                     stream_names: dict[str, str]) -> None:
    js = await _stream(nc, stream_names, 25)
    pull = JetStreamPull(nc, stream_names["stream_name"], stream_names["consumer_name"])
    await pull.start()
    try:
        seen: list[bytes] = []
        for expected in (10, 10, 5):
            batch = await pull.fetch(10, 1.0)
            assert len(batch) == expected
            seen += [m.data for m in batch]
            for m in batch:
                await m.ack()
        assert seen == [str(i).encode() for i in range(25)]
        assert await pull.fetch(10, 0.1) == []  # nothing left: the server's 408 ends it
        assert [delivery_of(m.reply)[1] for m in batch] == [1] * 5
    finally:
        await pull.stop()
        await js.delete_stream(stream_names["stream_name"])


async def test_answer_after_a_fetch_gave_up_is_returned_next(
    nc: Any, stream_names: dict[str, str]
) -> None:
    """Messages that arrive for an abandoned request are held, never dropped."""
    js = await _stream(nc, stream_names, 0)
    stream = stream_names["stream_name"]
    pull = JetStreamPull(nc, stream, stream_names["consumer_name"])
    await pull.start()
    try:
        # A request that waits on the server far longer than this fetch does.
        await nc.publish(pull._next_subject, b'{"batch": 3, "expires": 5000000000}',
                         reply=pull._inbox)
        assert await pull.fetch(3, 0.05) == []
        for i in range(3):
            await js.publish(f"{stream}.x", str(i).encode())
        await nc.flush()
        batch = await pull.fetch(3, 1.0)
        assert sorted(m.data for m in batch) == [b"0", b"1", b"2"]
    finally:
        await pull.stop()
        await js.delete_stream(stream)


async def test_a_missing_consumer_is_an_error(nc: Any, stream_names: dict[str, str]) -> None:
    js = await _stream(nc, stream_names, 1)
    stream = stream_names["stream_name"]
    pull = JetStreamPull(nc, stream, "no_such_consumer")
    await pull.start()
    try:
        with pytest.raises(nats.errors.Error, match="status 503"):
            await pull.fetch(1, 0.5)
    finally:
        await pull.stop()
        await js.delete_stream(stream)


async def test_arrived_is_when_the_message_came_not_when_the_fetch_ended(
    nc: Any, stream_names: dict[str, str]
) -> None:
    """A lone message in a long fetch: its batch's age counts from its arrival, so the
    flush that follows does not wait the fetch's remaining time again."""
    import asyncio
    import time

    js = await _stream(nc, stream_names, 0)
    pull = JetStreamPull(nc, stream_names["stream_name"], stream_names["consumer_name"])
    await pull.start()
    try:
        async def publish_soon() -> float:
            await asyncio.sleep(0.1)
            sent = time.monotonic()
            await js.publish(f"{stream_names['stream_name']}.x", b"lone")
            return sent

        sent_task = asyncio.create_task(publish_soon())
        batch = await pull.fetch(10, 1.0)  # waits the whole second: the batch is not full
        ended = time.monotonic()
        sent = await sent_task
        assert [m.data for m in batch] == [b"lone"]
        assert pull.arrived is not None
        assert sent <= pull.arrived < ended - 0.5
        assert await pull.fetch(10, 0.1) == [] and pull.arrived is None
    finally:
        await pull.stop()
        await js.delete_stream(stream_names["stream_name"])
