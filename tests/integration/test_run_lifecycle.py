"""`chanalytics run` killed and started again on one data directory: its bundled
nats-server ends with it (or is stopped by the next start), so there is never a second
server on the store and an event confirmed by the first URL is counted; and the demo's
history is published once, so the past does not change."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from tests.integration.test_cli import _env, _get, _start_run, _stop

from chanalytics.config import load_settings
from chanalytics.ingest.streams import ensure_stream
from chanalytics.mappers.events import SUBJECTS
from chanalytics.nats.server import find_binary, free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats]

KEYS = "demo-token=tenant_demo,probe-token=tenant_probe"


def _servers_on(store: Path) -> list[str]:
    """Command lines of the nats-server processes naming this store."""
    found = subprocess.run(["pgrep", "-af", f"nats-server.*-sd {store}( |$)"],
                           capture_output=True, text=True)
    return found.stdout.splitlines()


def _publish(tmp_path: Path, url: str, message: str) -> bool:
    """`chanalytics publish` of one probe event; True when JetStream confirmed it."""
    done = subprocess.run(
        [sys.executable, "-m", "chanalytics", "publish", "--nats", url, "pipeline.message.sent",
         json.dumps({"tenantId": "tenant_probe",
                     "data": {"messageId": message, "channel": "sms", "contactId": "c1"}})],
        env=_env(tmp_path, 0), capture_output=True, timeout=60)
    assert b"Traceback" not in done.stderr
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode == 0 and b"published" in done.stdout


def _overview(port: int, token: str, **query: str) -> dict[str, Any]:
    code, body = _get(f"http://127.0.0.1:{port}/api/v1/analytics/overview?"
                      + urllib.parse.urlencode(query), token)
    assert code == 200, body
    data: dict[str, Any] = json.loads(body)["data"]
    return data


def _wait_sent(port: int, expected: int) -> int:
    """The probe tenant's sent count once it reaches `expected` (or after 60 s)."""
    deadline, sent = time.monotonic() + 60, -1
    while time.monotonic() < deadline and sent != expected:
        now = datetime.now(UTC)  # not timeRange=1d: "today" restarts at midnight
        window = {"startDate": (now - timedelta(hours=2)).isoformat(), "endDate": now.isoformat()}
        sent = _overview(port, "probe-token", **window)["summary"]["totalMessagesSent"]
        time.sleep(0.3)
    return sent


def _diagnosis(port: int, log: Path) -> str:
    """What to read when an event was not counted: the ingest's metrics and the log's
    warnings and errors."""
    _, metrics = _get(f"http://127.0.0.1:{port}/metrics")
    counters = [line for line in metrics.decode().splitlines()
                if line.startswith("chanalytics_ingest")]
    problems = [line for line in log.read_text(errors="replace").splitlines()
                if '"warning"' in line or '"error"' in line]
    return "\n".join(["metrics:", *counters, "log:", *problems[-40:]])


def _wait_line(proc: subprocess.Popen[bytes], prefix: str, timeout: float = 90) -> str:
    """The first line of `run`'s output after its banner that starts with `prefix`."""
    lines: queue.Queue[bytes] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic())).decode()
        assert line, f"`run` ended before printing {prefix!r}"
        if line.startswith(prefix):
            return line
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()


def test_kill_9_then_restart_one_server_nothing_lost_history_once(tmp_path: Path) -> None:
    """`run --demo` is SIGKILLed and started again on its data directory: its
    nats-server went with it, the restart has the same NATS URL and the only server on
    the store, a probe event sent to that URL meanwhile is refused or counted (never
    confirmed and lost), and the demo's history over its window is unchanged."""
    port, nats_port = free_port(), free_port()
    args = ("--demo", "--backfill-days", "0.2", "--nats-port", str(nats_port))
    store = tmp_path / "data" / "nats"
    before = datetime.now(UTC)
    window = {"startDate": (before - timedelta(days=0.2)).isoformat(),
              "endDate": before.isoformat()}
    log = tmp_path / "run.log"
    proc, fields = _start_run(tmp_path, port, *args, log=log, CHANALYTICS_API_KEYS=KEYS)
    try:
        url = fields["NATS"].split()[0]
        assert url == f"nats://127.0.0.1:{nats_port}"
        assert fields["demo"].startswith("history: loading 4.8 hours")
        assert "demo history: done" in _wait_line(proc, "demo history:")
        history = _overview(port, "demo-token", **window)
        assert history["summary"]["totalMessagesSent"] > 0
    finally:
        proc.kill()
        proc.wait()
    if sys.platform.startswith("linux"):  # the kernel ends it (PR_SET_PDEATHSIG)
        deadline = time.monotonic() + 10
        while _servers_on(store.resolve()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _servers_on(store.resolve()) == []
    confirmed = int(_publish(tmp_path, url, "while-down"))  # refused, or counted later
    proc, fields = _start_run(tmp_path, port, *args, log=log, CHANALYTICS_API_KEYS=KEYS)
    try:
        assert fields["NATS"].split()[0] == url
        assert len(_servers_on(store.resolve())) == 1, _servers_on(store.resolve())
        assert fields["demo"].startswith("history: loading")  # the seconds it was down
        assert "demo history: done" in _wait_line(proc, "demo history:")
        assert _publish(tmp_path, url, "after-restart")
        confirmed += 1
        assert _wait_sent(port, confirmed) == confirmed, _diagnosis(port, log)
        assert _overview(port, "demo-token", **window) == history
    finally:
        _stop(proc)
    assert _servers_on(store.resolve()) == []


def test_a_server_left_on_the_store_is_stopped_and_its_events_counted(
        tmp_path: Path) -> None:
    """A nats-server still running on the data directory's store when `run` starts (an
    owner that died where the kernel does not end its child): `run` stops it, takes its
    port, and counts the event that server had confirmed."""
    store = (tmp_path / "data" / "nats").resolve()
    store.mkdir(parents=True)
    nats_port, port = free_port(), free_port()
    left = subprocess.Popen([find_binary(), "-js", "-sd", str(store), "-a", "127.0.0.1",
                             "-p", str(nats_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"nats://127.0.0.1:{nats_port}"
    try:
        asyncio.run(_make_stream(url))
        assert _publish(tmp_path, url, "confirmed-by-the-old-server")
        proc, fields = _start_run(tmp_path, port, "--nats-port", str(nats_port),
                                  CHANALYTICS_API_KEYS=KEYS)
        try:
            assert left.wait(timeout=10) is not None  # stopped by `run`
            assert fields["NATS"].split()[0] == url
            assert len(_servers_on(store)) == 1, _servers_on(store)
            assert _wait_sent(port, 1) == 1
        finally:
            _stop(proc)
    finally:
        if left.poll() is None:
            left.kill()
            left.wait()


async def _make_stream(url: str) -> None:
    settings = load_settings({})
    for _ in range(50):
        try:
            nc = await nats.connect(url)
            break
        except Exception:
            await asyncio.sleep(0.1)
    try:
        await ensure_stream(nc.jetstream(), settings.stream_name, list(SUBJECTS))
    finally:
        await nc.close()
