"""The consumer's lag, read from a real JetStream consumer: the age of the oldest message
not yet acknowledged (ingest acknowledges only what it stored)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from chanalytics.ingest.jobs import update_consumer_gauges
from chanalytics.ingest.streams import ensure_all
from chanalytics.metrics import Metrics

pytestmark = pytest.mark.nats

SENT = "pipeline.message.sent"


@pytest.fixture
async def js(nc: Any, stream_names: dict[str, str]) -> AsyncIterator[Any]:
    context = nc.jetstream()
    await ensure_all(context, stream=stream_names["stream_name"],
                     dlq_stream=stream_names["dlq_stream"],
                     durable=stream_names["consumer_name"], max_ack_pending=100, ack_wait=30)
    yield context
    for stream in (stream_names["stream_name"], stream_names["dlq_stream"]):
        await context.delete_stream(stream)  # the next test needs the subjects free


class TestConsumerLag:
    async def test_lag_is_the_age_of_the_oldest_unstored_message(
        self, js: Any, stream_names: dict[str, str]
    ) -> None:
        """Unacknowledged messages make the lag their oldest's age (the clock is 100 s on),
        whether delivered or not; once all are acknowledged it is 0, and so are the counts."""
        stream, consumer = stream_names["stream_name"], stream_names["consumer_name"]
        for i in range(3):
            await js.publish(SENT, msgspec.json.encode({"id": f"e{i}"}))
        later = Metrics(clock=lambda: time.time() + 100)
        await update_consumer_gauges(js, stream, consumer, later)
        assert later.consumer_pending._value.get() == 3
        assert 100 <= later.lag._value.get() < 130

        sub = await js.pull_subscribe(SENT, durable=consumer, stream=stream)
        first, *rest = await sub.fetch(3, timeout=5)
        await first.ack_sync()  # the floor moves past the first; two remain unstored
        await update_consumer_gauges(js, stream, consumer, later)
        assert later.consumer_pending._value.get() == 0
        assert later.consumer_ack_pending._value.get() == 2
        assert 100 <= later.lag._value.get() < 130

        for msg in rest:
            await msg.ack_sync()
        await update_consumer_gauges(js, stream, consumer, later)
        assert later.consumer_ack_pending._value.get() == 0
        assert later.lag._value.get() == 0
