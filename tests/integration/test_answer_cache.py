"""Kept answers are never stale: an event stored between two identical requests is
counted by the second, a budget written between them is read by the second, in one
process (the embedded engine's versions) and across processes (two `serve` beside an
`ingest` process on a ClickHouse server, versions in NATS)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from tests.conftest import clickhouse_server
from tests.integration.test_cli import _get
from tests.integration.test_crash_loop import consumer_idle
from tests.integration.test_multiprocess import _env, _wait, stop_all

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.nats.server import LocalNatsServer, free_port
from chanalytics.versions import LocalVersions

pytestmark = pytest.mark.clickhouse

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = {"startDate": (NOW - timedelta(days=2)).isoformat(),
          "endDate": (NOW + timedelta(hours=1)).isoformat()}


def _sent(tenant: str, message: str, at: datetime) -> tuple[str, dict[str, Any]]:
    return "pipeline.message.sent", {
        "id": f"evt-{message}", "tenantId": tenant, "timestamp": at.isoformat(),
        "data": {"messageId": message, "channel": "email", "contactId": "c1", "cost": 0.5}}


async def test_an_event_stored_between_two_requests_is_counted_by_the_second(
        storage: Storage) -> None:
    versions = LocalVersions()
    writer = BatchWriter(storage, Metrics(), versions=versions)

    async def store(message: str) -> None:
        subject, payload = _sent("tenant_a", message, NOW - timedelta(hours=1))
        await writer.write([map_event(subject, msgspec.json.encode(payload))])

    app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok=tenant_a,other=tenant_b"}),
                     storage=storage, versions=versions, clock=lambda: NOW)
    cache = app.state.services.engine.cache
    headers = {"Authorization": "Bearer tok"}
    await store("m1")
    async with AsyncTestClient(app) as client:
        async def sent() -> int:
            response = await client.get("/api/v1/analytics/overview", params=WINDOW,
                                        headers=headers)
            assert response.status_code == 200, response.text
            value: int = response.json()["data"]["summary"]["totalMessagesSent"]
            return value

        assert await sent() == 1
        misses = cache.misses
        assert await sent() == 1
        assert cache.misses == misses  # the second was a kept answer
        await store("m2")
        assert await sent() == 2

        async def spend() -> Any:
            response = await client.get("/api/v1/analytics/costs", params=WINDOW,
                                        headers=headers)
            assert response.status_code == 200, response.text
            return response.json()["data"]["budget"]

        assert await spend() is None
        put = await client.put("/api/v1/analytics/budget", headers=headers,
                               json={"monthlyBudget": 100, "timezone": "UTC"})
        assert put.status_code == 200, put.text
        assert (await spend())["monthlyBudget"] == 100


@pytest.mark.nats
@pytest.mark.once
def test_every_api_process_counts_an_event_stored_before_its_request(tmp_path: Path) -> None:
    """Two `serve` processes keep answers; an `ingest` process stores events. Once an
    event is in ClickHouse, the next request to either process counts it, at once."""
    nats_server = LocalNatsServer(tmp_path / "nats")
    nats_server.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with clickhouse_server(tmp_path / "engine") as ch_url:
            env = _env(tmp_path, ch_url, nats_server.url, CHANALYTICS_API_KEYS="tok=tenant_a",
                       CHANALYTICS_LOG_LEVEL="info")
            migrate = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"],
                                     env=env, capture_output=True, timeout=120)
            assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]
            procs.append(subprocess.Popen([sys.executable, "-m", "chanalytics", "ingest"],
                                          env=env, stderr=subprocess.DEVNULL))
            ports = [free_port(), free_port()]
            logs = [tmp_path / f"serve-{port}.log" for port in ports]
            procs += [subprocess.Popen([sys.executable, "-m", "chanalytics", "serve"],
                                       env={**env, "CHANALYTICS_HTTP_PORT": str(port)},
                                       stdout=subprocess.DEVNULL, stderr=log.open("wb"))
                      for port, log in zip(ports, logs, strict=True)]
            for port in ports:
                _wait(lambda port=port: _get(f"http://127.0.0.1:{port}/health/ready")[0]
                      == 200, 60)
            storage = Storage(ch_url, "chanalytics")
            storage.connect()

            def stored() -> int:
                return int(storage.query_sync("SELECT count() FROM analytics_events")[0][0])

            def sent(port: int) -> int:
                code, body = _get(f"http://127.0.0.1:{port}/api/v1/analytics/overview?"
                                  + urllib.parse.urlencode(WINDOW), "tok")
                assert code == 200, body
                value: int = json.loads(body)["data"]["summary"]["totalMessagesSent"]
                return value

            try:
                for n in range(1, 4):
                    assert [sent(port) for port in ports] == [n - 1] * 2
                    assert [sent(port) for port in ports] == [n - 1] * 2  # kept
                    _publish(nats_server.url, *_sent("tenant_a", f"m{n}", NOW))
                    # Stored: acknowledged, which ingest does once the insert (views
                    # included) returned; the raw row alone shows a moment earlier.
                    _wait(lambda: asyncio.run(consumer_idle(nats_server.url)), 60)
                    assert stored() == n
                    assert [sent(port) for port in ports] == [n] * 2
            finally:
                storage.close()
            for port in ports:
                _, metrics = _get(f"http://127.0.0.1:{port}/metrics")
                kept = [line for line in metrics.decode().splitlines()
                        if line.startswith('chanalytics_engine_reads_total{source="kept"}')]
                assert kept and float(kept[0].split()[-1]) >= 3, metrics.decode()
    finally:
        stop_all(procs)
        nats_server.stop()


def _publish(url: str, subject: str, payload: dict[str, Any]) -> None:
    done = subprocess.run([sys.executable, "-m", "chanalytics", "publish", "--nats", url,
                           subject, json.dumps(payload)], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
