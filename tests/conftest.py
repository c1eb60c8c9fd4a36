"""Shared fixtures: real ClickHouse and real NATS, never mocks.

Where a Docker engine answers, ClickHouse and NATS run in testcontainers; otherwise
ClickHouse is chDB in a temporary directory (one engine per process, so each test gets
its own database in it) and NATS is the bundled `nats-server` on a free loopback port.
`CHANALYTICS_TEST_CLICKHOUSE=server` runs the same tests against a real ClickHouse
server over HTTP instead: `chanalytics clickhouse-server` in a process of its own.
Tests not marked `clickhouse` or `nats` are blocked from reaching either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.nats.server import LocalNatsServer, free_port


def _docker_answers() -> bool:
    if os.environ.get("CHANALYTICS_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


DOCKER = _docker_answers()
SERVER_MODE = os.environ.get("CHANALYTICS_TEST_CLICKHOUSE") == "server"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The server pass leaves out the tests marked `once`: they would repeat the embedded
    pass exactly (they start their own servers) or re-check SQL the server runs unchanged."""
    if not SERVER_MODE:
        return
    dropped = [item for item in items if item.get_closest_marker("once")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("once")]


@pytest.fixture(autouse=True)
def _block_services_for_unmarked(request: pytest.FixtureRequest,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    marks = {m.name for m in request.node.iter_markers()}
    if marks & {"clickhouse", "nats"}:
        return

    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("this test is not marked clickhouse/nats and may not reach services")

    import clickhouse_connect
    import nats

    monkeypatch.setattr(clickhouse_connect, "get_client", refuse)
    monkeypatch.setattr(nats, "connect", refuse)


@pytest.fixture(scope="session")
def clickhouse_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DSN for a real ClickHouse: a container where Docker answers, else embedded chDB."""
    if DOCKER:
        from testcontainers.community.clickhouse import ClickHouseContainer

        with ClickHouseContainer("clickhouse/clickhouse-server:25.8") as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(8123)
            yield f"http://{container.username}:{container.password}@{host}:{port}"
        return
    if SERVER_MODE:
        with clickhouse_server(tmp_path_factory.mktemp("chserver")) as url:
            yield url
        return
    yield f"chdb://{tmp_path_factory.mktemp('chdb')}"


@contextmanager
def clickhouse_server(data_dir: Path, *, tcp_port: int | None = None,
                      args: Sequence[str] = ()) -> Iterator[str]:
    """`chanalytics clickhouse-server` on free ports (or this TCP port) until the block
    ends; yields its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "clickhouse-server",
                             "--data-dir", str(data_dir), "--http-port", str(port),
                             "--tcp-port", str(tcp_port or free_port()), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/ping", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chanalytics clickhouse-server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def storage(clickhouse_dsn: str) -> Iterator[Storage]:
    """A connected, migrated Storage on a database of its own."""
    store = Storage(clickhouse_dsn, f"test_{uuid.uuid4().hex[:12]}")
    store.connect()
    store.migrate(raw_ttl_days=3650)
    yield store
    store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
    store.close()


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JetStream-enabled NATS server for the session."""
    if DOCKER:
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.11", jetstream=True) as container:
            yield container.nats_uri()
        return
    server = LocalNatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[LocalNatsServer]:
    """A NATS server of the test's own, for tests that stop and restart it."""
    server = LocalNatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stream_names() -> dict[str, str]:
    """Unique stream/consumer names so tests sharing one server never see each other."""
    suffix = uuid.uuid4().hex[:8].upper()
    return {"stream_name": f"SRC_{suffix}", "dlq_stream": f"DLQ_{suffix}",
            "consumer_name": f"ingest_{suffix}"}


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[object]:
    import nats

    conn = await nats.connect(nats_url)
    yield conn
    await conn.close()
