"""The README's promise, run as a new user would: on a fresh clone, its first command
installs and starts the service with the demo, and its curl and publish examples work
as written (the curl with the banner's token in place of `<token>`).

The API listens on a free port (`CHANALYTICS_HTTP_PORT`), and the bundled NATS server
takes 4222 only when it is free, so the test never skips for a busy port: the curl goes
to the banner's API address and the publish line gets `--nats <the banner's URL>`, as the
README tells a user whose banner shows another. It installs into a fresh venv, which
takes a minute.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from chanalytics.nats.server import free_port

# It runs the embedded default whatever the mode: the server pass leaves it out (`once`).
pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.slow, pytest.mark.once,
              pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


def blocks(readme: str) -> list[str]:
    """The README's ```sh blocks, in order."""
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", readme, re.S)]


def test_the_readme_commands_work_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "chanalytics"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    start, curl, publish = blocks((clone / "README.md").read_text())[:3]
    assert start.startswith("python3 -m venv .venv") and "run --demo" in start
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CHANALYTICS_", "VIRTUAL_ENV"))}
    env["CHANALYTICS_LOG_FORMAT"] = "json"
    env["CHANALYTICS_HTTP_PORT"] = str(free_port())
    service = subprocess.Popen(["bash", "-c", start], cwd=clone, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        assert service.stdout is not None
        banner: dict[str, str] = {}
        deadline = time.monotonic() + 600  # a fresh venv and install first
        for raw in service.stdout:
            name, _, value = raw.decode().strip().partition(":")
            banner[name] = value.strip()
            if name == "publish" or time.monotonic() > deadline:
                break
        token = banner["token"]
        assert token.startswith("dev-")
        assert "http://127.0.0.1:8000/" in curl
        api = banner["API"].removesuffix("/api/v1/analytics/overview")
        curl_cmd = curl.replace("<token>", token).replace("http://127.0.0.1:8000", api)
        nats_url = banner["NATS"].split()[0]
        if nats_url != "nats://127.0.0.1:4222":  # what the README says to do then
            publish = f"{publish} --nats {nats_url}"
        answer = _until(lambda: _run(curl_cmd, clone, env), b'"success":true')
        assert json.loads(answer)["success"] is True
        published = _until(lambda: _run(publish, clone, env), b"published")
        assert b"to ANALYTICS_SOURCE" in published
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        try:
            service.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)


def _run(command: str, cwd: Path, env: dict[str, str]) -> bytes:
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          timeout=60)
    return done.stdout if done.returncode == 0 else b""


def _until(attempt: object, expected: bytes, seconds: float = 60) -> bytes:
    """The output of `attempt()` once it holds `expected` (the API starts serving a
    moment after the banner)."""
    deadline = time.monotonic() + seconds
    while True:
        out: bytes = attempt()  # type: ignore[operator]
        if expected in out or time.monotonic() > deadline:
            return out
        time.sleep(0.5)
