"""Server mode: two `serve` and two `ingest` processes on a ClickHouse server and one
NATS. A stream held by either API process shows every event stored by either ingest
process, once, in stream order, and a resume on the other API process loses nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import clickhouse_server
from tests.integration.live_rig import SseReader, publish
from tests.integration.test_cli import _get
from tests.integration.test_multiprocess import _env, _wait, stop_all

from chanalytics.nats.server import LocalNatsServer, free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

EVENTS = 3000


def test_every_stream_sees_every_stored_event_once(tmp_path: Path) -> None:
    nats_server = LocalNatsServer(tmp_path / "nats")
    nats_server.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with clickhouse_server(tmp_path / "engine") as ch_url:
            env = _env(tmp_path, ch_url, nats_server.url,
                       CHANALYTICS_API_KEYS="tok=tenant_a,tok-b=tenant_b")
            migrate = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"],
                                     env=env, capture_output=True, timeout=120)
            assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]
            for _ in range(2):
                procs.append(subprocess.Popen([sys.executable, "-m", "chanalytics", "ingest"],
                                              env=env, stderr=subprocess.DEVNULL))
            ports = [free_port(), free_port()]
            procs += [subprocess.Popen([sys.executable, "-m", "chanalytics", "serve"],
                                       env={**env, "CHANALYTICS_HTTP_PORT": str(port)},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for port in ports]
            for port in ports:
                _wait(lambda port=port: _get(f"http://127.0.0.1:{port}/health/ready")[0]
                      == 200, 60)
            asyncio.run(_streams(ports, nats_server.url))
    finally:
        stop_all(procs)
        nats_server.stop()


async def _streams(ports: list[int], nats_url: str) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as client:
        urls = [f"http://127.0.0.1:{port}/api/v1/analytics/live" for port in ports]
        headers = {"Authorization": "Bearer tok"}
        async with client.stream("GET", urls[0], headers=headers) as first, \
                client.stream("GET", urls[1], headers=headers) as second:
            readers = [SseReader(first), SseReader(second)]
            for reader in readers:
                assert (await reader.next()).event == "snapshot"
            ids = await publish(nats_url, "tenant_a", EVENTS // 2)
            await publish(nats_url, "tenant_b", 100)
            ids += await publish(nats_url, "tenant_a", EVENTS // 2, start=EVENTS // 2)
            seen = [await reader.events(EVENTS, timeout=180) for reader in readers]
            for received in seen:
                # Each once. Two ingest processes store in two orders of batches, so the
                # stream's order (its cursors) is the order of storing, not of publishing.
                got = [e.data["id"] for e in received]
                assert len(got) == len(set(got)) == EVENTS and set(got) == set(ids)
                cursors = [e.id or 0 for e in received]
                assert cursors == sorted(set(cursors))
            assert [e.id for e in seen[0]] == [e.id for e in seen[1]]  # one stream order
            middle = seen[0][EVENTS // 2 - 1].id
            after_middle = [e.data["id"] for e in seen[0][EVENTS // 2:]]
        more = await publish(nats_url, "tenant_a", 50, start=EVENTS)
        # A client of the first process resumes on the second: the cursor is the stream's.
        async with client.stream("GET", urls[1], headers={
                **headers, "Last-Event-ID": str(middle)}) as resumed:
            reader = SseReader(resumed)
            got = await reader.events(EVENTS // 2 + 50, timeout=120)
            assert sorted(e.data["id"] for e in got) == sorted(after_middle + more)
