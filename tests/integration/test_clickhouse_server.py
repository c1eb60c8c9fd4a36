"""`chanalytics clickhouse-server`: the embedded engine as a real ClickHouse server that
`migrate` and `serve` (separate processes) use over HTTP, stopped cleanly and restarted
with its data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import clickhouse_server
from tests.integration.test_cli import _env, _get

from chanalytics.clickhouse.storage import Storage, schema_files
from chanalytics.nats.server import free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.once]


def test_migrate_and_serve_use_it_and_data_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "engine"
    with clickhouse_server(data) as url:
        env = _env(tmp_path, 0, CHANALYTICS_CLICKHOUSE_URL=url)
        done = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"], env=env,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        port = free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "chanalytics", "serve"],
            env=_env(tmp_path, port, CHANALYTICS_CLICKHOUSE_URL=url,
                     CHANALYTICS_API_KEYS="tok=tenant_a"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline, status, body = time.monotonic() + 60, 0, b""
            while time.monotonic() < deadline and status != 200:
                status, body = _get(f"http://127.0.0.1:{port}/health/ready")
                time.sleep(0.2)
            assert status == 200, body
            code, body = _get(f"http://127.0.0.1:{port}/api/v1/analytics/overview", "tok")
            assert code == 200 and json.loads(body)["data"]["summary"]["totalMessagesSent"] == 0
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.communicate(timeout=30)
    with clickhouse_server(data) as url:  # the same directory again
        storage = Storage(url, "chanalytics")
        storage.connect()
        try:
            rows = storage.query_sync("SELECT count() FROM schema_migrations")
            assert rows[0][0] == len(schema_files())  # every migration, once
        finally:
            storage.close()


def test_a_taken_port_is_refused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "chanalytics", "clickhouse-server", "--data-dir",
             str(tmp_path), "--http-port", str(port), "--tcp-port", str(free_port())],
            capture_output=True, timeout=60)
    assert done.returncode == 2 and b"cannot listen on the HTTP port" in done.stderr
