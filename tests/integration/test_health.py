"""Operations endpoints against real storage and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from litestar.testing import AsyncTestClient

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.service import IngestService
from chanalytics.metrics import Metrics

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]


@pytest.fixture
async def client(storage: Storage, nats_url: str,
                 stream_names: dict[str, str]) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The API as `chanalytics serve` runs it (its own NATS probe), beside a running ingest.
    (The test client runs the app on another event loop, so it cannot share ingest's
    connection; `run`'s shared connection is covered by the CLI test.)"""
    settings = load_settings({}, api_keys="tok=tenant_a", nats_url=nats_url, **stream_names)
    metrics = Metrics()
    service = IngestService(settings, storage, metrics, nats_url)
    await service.start()
    app = create_app(settings, storage=storage, metrics=metrics)
    async with AsyncTestClient(app) as c:
        yield c
    await service.stop()
    nc = await nats.connect(nats_url)  # free the subjects for the next test's streams
    for stream in (settings.stream_name, settings.dlq_stream):
        await nc.jetstream().delete_stream(stream)
    await nc.close()


class TestHealth:
    async def test_ready_when_storage_and_nats_answer(self, client: AsyncTestClient) -> None:  # type: ignore[type-arg]
        """Ready is 200 with every check true once the stream and consumer exist."""
        response = await client.get("/health/ready")
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"storage": True, "nats": True, "stream": True,
                                             "consumer": True}
        assert (await client.get("/health/live")).status_code == 200
        head = await client.head("/health/ready")  # load balancers probe with HEAD
        assert head.status_code == 200 and head.content == b""

    async def test_not_ready_during_storage_outage(
        self, client: AsyncTestClient, storage: Storage  # type: ignore[type-arg]
    ) -> None:
        """While storage fails, ready answers 503 naming storage; it recovers by itself."""
        storage.insert_fault = lambda phase, _: phase == "before"
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["storage"] is False
        assert (await client.head("/health/ready")).status_code == 503
        storage.insert_fault = None
        assert (await client.get("/health/ready")).status_code == 200

    async def test_metrics_are_prometheus_text(self, client: AsyncTestClient) -> None:  # type: ignore[type-arg]
        """/metrics exposes the ingest counters in Prometheus text format."""
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert "chanalytics_events_ingested" in response.text
        assert "chanalytics_consumer_ack_pending" in response.text
