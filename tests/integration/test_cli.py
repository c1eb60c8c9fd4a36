"""The commands as a user runs them: `run`, `serve`, `migrate` and `publish`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nats
import pytest

from chanalytics.nats.server import find_binary, free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
    env.update(CHANALYTICS_DATA_DIR=str(tmp_path / "data"), CHANALYTICS_HTTP_PORT=str(port),
               CHANALYTICS_LOG_FORMAT="json")
    env.update(extra)
    return env


class TestRun:
    def test_run_becomes_ready_and_stops_cleanly(self, tmp_path: Path) -> None:
        """`chanalytics run` answers /health/ready with 200 within 30 s and exits 0 on SIGTERM."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "chanalytics", "run"],
            env=_env(tmp_path, port, CHANALYTICS_API_KEYS="tok=tenant_a"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            status = 0
            while time.monotonic() - started < 30 and proc.poll() is None:
                status, _ = _get(f"{base}/health/ready")
                if status == 200:
                    break
                time.sleep(0.2)
            assert status == 200, proc.stderr.read1().decode() if proc.stderr else ""
            assert _get(f"{base}/health/live")[0] == 200
            assert _get(f"{base}/metrics")[0] == 200
            code, body = _get(f"{base}/schema/openapi.json")
            assert code == 200 and json.loads(body)["info"]["title"] == "chanalytics"
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert f"http://127.0.0.1:{port}" in out.decode()

    def test_migrate_is_idempotent(self, tmp_path: Path) -> None:
        """`chanalytics migrate` run twice succeeds both times, and says what it did: the
        migrations it applied, then that the database is already up to date."""
        said = []
        for _ in range(2):
            done = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"],
                                  env=_env(tmp_path, 0), capture_output=True, timeout=120)
            assert done.returncode == 0, done.stderr.decode()[-2000:]
            said.append(done.stdout.decode())
        assert said[0].startswith("applied ") and " migrations (0001-" in said[0]
        assert "database 'chanalytics' at chdb://" in said[0]
        assert "is already up to date" in said[1]

    def test_bad_setting_fails_fast(self, tmp_path: Path) -> None:
        """A bad variable stops the command at once with a message naming it."""
        env = _env(tmp_path, 0, CHANALYTICS_HTTP_PORT="not-a-port")
        done = subprocess.run([sys.executable, "-m", "chanalytics", "run"], env=env,
                              capture_output=True, timeout=60)
        assert done.returncode == 2
        assert b"CHANALYTICS_HTTP_PORT" in done.stderr

    def test_busy_port_fails_before_claiming_to_run(self, tmp_path: Path) -> None:
        """A taken HTTP port: exit 2 with a message, and no "running at" line."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run([sys.executable, "-m", "chanalytics", "run"],
                                  env=_env(tmp_path, port), capture_output=True, timeout=60)
        assert done.returncode == 2
        assert b"cannot listen on 127.0.0.1:" in done.stderr
        assert b"running" not in done.stdout

    def test_version(self) -> None:
        done = subprocess.run([sys.executable, "-m", "chanalytics", "--version"],
                              capture_output=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith(b"chanalytics ")

    def test_serve_is_ready_without_nats(self, tmp_path: Path) -> None:
        """`serve` uses only storage, so a NATS that is down does not make it unready."""
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "chanalytics", "serve"],
            env=_env(tmp_path, port, CHANALYTICS_API_KEYS="tok=tenant_a",
                     CHANALYTICS_NATS_URL=f"nats://127.0.0.1:{free_port()}"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline, status, body = time.monotonic() + 30, 0, b""
            while time.monotonic() < deadline and status != 200:
                status, body = _get(f"http://127.0.0.1:{port}/health/ready")
                time.sleep(0.2)
            assert status == 200 and json.loads(body)["checks"] == {"storage": True}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)

    def test_serve_prints_the_address_it_listens_on(self, tmp_path: Path) -> None:
        """`serve` prints its URL once listening: with port 0, the port it was given."""
        proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "serve"],
                                env=_env(tmp_path, 0, CHANALYTICS_API_KEYS="tok=tenant_a"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            assert line.startswith("serving the API at http://127.0.0.1:"), line
            url = line.split()[4]
            assert not url.endswith(":0") and _get(f"{url}/health/live")[0] == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        assert proc.returncode == 0

    def test_serve_without_keys_warns(self, tmp_path: Path) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "serve"],
                                env=_env(tmp_path, free_port()), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            assert proc.stderr is not None
            assert b"CHANALYTICS_API_KEYS is not set" in proc.stderr.readline()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


def _start_run(tmp_path: Path, port: int, *args: str, log: Path | None = None,
               **extra: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`chanalytics run`, waited for until its banner is printed; returns the banner's
    fields. Its log (stderr) is appended to `log` when given."""
    stderr = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "run", *args],
                                env=_env(tmp_path, port, **extra), stdout=subprocess.PIPE,
                                stderr=stderr)
    finally:
        if log is not None:
            stderr.close()
    fields: dict[str, str] = {}
    assert proc.stdout is not None
    for raw in proc.stdout:
        name, _, value = raw.decode().strip().partition(":")
        fields[name] = value.strip()
        if name == "publish":
            break
    deadline = time.monotonic() + 30  # serving (and so handling SIGTERM) once it answers
    while time.monotonic() < deadline and _get(f"http://127.0.0.1:{port}/health/live")[0] != 200:
        time.sleep(0.1)
    return proc, fields


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


class TestFirstRun:
    def test_token_survives_restart_and_the_publish_line_works(self, tmp_path: Path) -> None:
        """The banner's token stays the same across restarts of one data dir, and the
        README's one-line publish, sent to the banner's NATS, is counted once."""
        port = free_port()
        proc, first = _start_run(tmp_path, port)
        _stop(proc)
        proc, fields = _start_run(tmp_path, port)
        try:
            token = fields["token"]
            assert token.startswith("dev-") and token == first["token"]
            nats_url = fields["NATS"].split()[0]
            published = subprocess.run(
                [sys.executable, "-m", "chanalytics", "publish", "--nats", nats_url,
                 "pipeline.message.sent", '{"tenantId": "tenant_demo", "data": '
                 '{"messageId": "m1", "channel": "email", "contactId": "c1"}}'],
                env=_env(tmp_path, 0), capture_output=True, timeout=60)
            assert published.returncode == 0, published.stderr.decode()
            assert b"published" in published.stdout
            # 7d, not 1d: "today" restarts at midnight, and a probe at 23:59 leaves it
            base = f"http://127.0.0.1:{port}/api/v1/analytics/overview?timeRange=7d"
            deadline, sent = time.monotonic() + 30, None
            while time.monotonic() < deadline and sent != 1:
                code, body = _get(base, token)
                if code == 200:
                    sent = json.loads(body)["data"]["summary"]["totalMessagesSent"]
                time.sleep(0.3)
            assert sent == 1
        finally:
            _stop(proc)

    def test_configured_keys_are_never_printed(self, tmp_path: Path) -> None:
        proc, fields = _start_run(tmp_path, free_port(),
                                  CHANALYTICS_API_KEYS="secret-key-123=tenant_a")
        _stop(proc)
        assert "secret-key-123" not in " ".join(fields.values())
        assert "not shown" in fields["token"]


def test_publish_authenticates_to_a_nats_that_requires_it(tmp_path: Path) -> None:
    """A real nats-server with a user and password: `publish` gets in with
    CHANALYTICS_NATS_USER / _PASSWORD, and is refused (exit 1, no traceback) without."""
    port = free_port()
    server = subprocess.Popen([find_binary(), "-js", "-sd", str(tmp_path / "js"), "-a",
                               "127.0.0.1", "-p", str(port), "--user", "ingest", "--pass",
                               "s3cret"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"

    async def make_stream() -> None:
        for _ in range(50):
            try:
                nc = await nats.connect(url, user="ingest", password="s3cret")
                break
            except Exception:
                await asyncio.sleep(0.1)
        await nc.jetstream().add_stream(name="SRC", subjects=["pipeline.>"])
        await nc.close()

    command = [sys.executable, "-m", "chanalytics", "publish", "--nats", url,
               "pipeline.message.sent", '{"tenantId": "t", "data": {"messageId": "m", '
               '"channel": "sms"}}']
    try:
        asyncio.run(make_stream())
        ok = subprocess.run(command, capture_output=True, timeout=60, env=_env(
            tmp_path, 0, CHANALYTICS_NATS_USER="ingest", CHANALYTICS_NATS_PASSWORD="s3cret"))
        assert ok.returncode == 0, ok.stderr.decode()
        assert b"to SRC #1" in ok.stdout
        refused = subprocess.run(command, capture_output=True, timeout=60, env=_env(tmp_path, 0))
        assert refused.returncode == 1
        assert b"could not publish" in refused.stderr and b"Traceback" not in refused.stderr
    finally:
        server.terminate()
        server.wait(10)


def _publish(*args: str, nats_url: str) -> tuple[subprocess.CompletedProcess[bytes], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "chanalytics", "publish", "--nats", nats_url,
                           *args], capture_output=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("CHANALYTICS_")})
    return done, time.monotonic() - started


SENT_FAX = '{"tenantId": "t", "data": {"messageId": "m", "channel": "fax"}}'


class TestPublish:
    def test_a_closed_port_fails_fast_with_a_sentence(self) -> None:
        """No server at the URL: exit 1 within a few seconds (nats-py's own retries once
        took 121 s), saying that no server answers there and what to check."""
        url = f"nats://127.0.0.1:{free_port()}"
        done, took = _publish("pipeline.message.sent", '{"tenantId": "t", "data": '
                              '{"messageId": "m", "channel": "sms"}}', nats_url=url)
        assert took < 10  # a correctness bound: the failure must not wait out retries
        assert done.returncode == 1
        assert f"no NATS server answers at {url} (connection refused)".encode() in done.stderr
        assert b"chanalytics run" in done.stderr and b"Traceback" not in done.stderr

    def test_an_unknown_subject_names_the_accepted_ones(self, nats_url: str) -> None:
        """Refused before connecting (exit 2); sent anyway, JetStream's "no stream" is the
        same sentence (exit 1). Both list the source stream's subjects."""
        sentence = b"no stream takes subject 'x.y'; the accepted subjects are: " \
                   b"pipeline.message.sent, "
        refused, _ = _publish("x.y", SENT_FAX, nats_url=f"nats://127.0.0.1:{free_port()}")
        sent, _ = _publish("x.y", SENT_FAX, "--allow-invalid", nats_url=nats_url)
        for done, status in ((refused, 2), (sent, 1)):
            assert done.returncode == status, done.stderr.decode()
            assert sentence in done.stderr and b"contact.updated" in done.stderr

    def test_an_invalid_event_is_refused_with_the_reason_unless_allowed(
            self, nats_url: str) -> None:
        """`channel: "fax"`: refused with ingest's reason and nothing sent (exit 2);
        `--allow-invalid` sends it, saying ingest will dead-letter it."""
        stream = f"PUBLISH_{os.getpid()}"

        async def stream_messages(create: bool = False, delete: bool = False) -> int:
            nc = await nats.connect(nats_url)
            try:
                js = nc.jetstream()
                if create:
                    await js.add_stream(name=stream, subjects=["pipeline.message.sent"])
                count = (await js.stream_info(stream)).state.messages
                if delete:
                    await js.delete_stream(stream)
                return count
            finally:
                await nc.close()

        asyncio.run(stream_messages(create=True))
        try:
            refused, _ = _publish("pipeline.message.sent", SENT_FAX, nats_url=nats_url)
            assert refused.returncode == 2
            assert (b"the event is invalid (invalid-data): Invalid enum value 'fax' - at "
                    b"`$.data.channel`") in refused.stderr
            assert b"--allow-invalid" in refused.stderr
            assert asyncio.run(stream_messages()) == 0
            sent, _ = _publish("pipeline.message.sent", SENT_FAX, "--allow-invalid",
                               nats_url=nats_url)
            assert sent.returncode == 0, sent.stderr.decode()
            assert f"to {stream} #1 (invalid, invalid-data:".encode() in sent.stdout
            assert asyncio.run(stream_messages()) == 1
        finally:
            asyncio.run(stream_messages(delete=True))  # the subject, free for other tests


def test_sigterm_while_starting_is_a_clean_stop(tmp_path: Path) -> None:
    """SIGTERM once `run` is past its imports but before its own handlers (while it
    migrates, starts NATS and ingest) still stops it cleanly: exit 0, its bundled
    nats-server gone. (During the imports nothing has started; the default applies.)"""
    for delay in (0.0, 0.5, 1.0, 1.5):
        data = tmp_path / str(delay)
        proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "run"],
                                env=_env(data, free_port()),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (data / "data" / "clickhouse").exists():  # storage is being opened
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, delay
        leftover = subprocess.run(["pgrep", "-f", f"nats-server.*{data}"], capture_output=True)
        assert leftover.stdout == b"", delay
