"""The bench's processes: one ClickHouse server, a `serve` per version, `ingest`, NATS.

Every `chanalytics` command runs as a subprocess of this Python with `PYTHONPATH` set to
one checkout's `src/`, so each version runs its own code; its output goes to a log file
in the run directory (read it when a process does not come up). `Processes` stops what
it started, by pid, newest first.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import stop

TOKEN = "bench-mix-token"


@dataclass(frozen=True)
class Version:
    """One checkout under test: `before` or `after`."""

    name: str
    path: Path

    def env(self, **settings: str) -> dict[str, str]:
        """This process's environment minus any CHANALYTICS_*, plus this checkout's code
        and the given settings (`clickhouse_url=…` → CHANALYTICS_CLICKHOUSE_URL)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
        env["PYTHONPATH"] = str(self.path / "src")
        env["CHANALYTICS_LOG_LEVEL"] = "warning"
        env["CHANALYTICS_LOG_FORMAT"] = "json"
        env.update({f"CHANALYTICS_{k.upper()}": v for k, v in settings.items()})
        return env

    def schema(self) -> str:
        """A fingerprint of the checkout's DDL files (names and text): equal fingerprints,
        equal schemas."""
        digest = hashlib.sha256()
        for path in sorted((self.path / "clickhouse" / "schema").glob("*.sql")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:10]

    def describe(self) -> str:
        """`path @ commit` (with `+dirty` when the checkout has uncommitted changes)."""
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                                  text=True, check=False).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD")
        if not commit:
            return f"`{self.path}` (not a git checkout)"
        dirty = "+dirty" if git("status", "--porcelain") else ""
        return f"`{self.path}` @ {commit}{dirty}"


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 180) -> None:
    """Until `url` answers 200; fails with the process's log when it exits or never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"{url} did not answer (exit {proc.poll()}); log {log}:\n{tail}")
        time.sleep(0.3)


def ch_query(url: str, sql: str, database: str | None = None) -> str:
    """One statement over ClickHouse's HTTP interface; its text answer."""
    query = {"database": database} if database else {}
    request = urllib.request.Request(f"{url}/?{urllib.parse.urlencode(query)}",
                                     data=sql.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return str(response.read().decode()).strip()


class Processes(AbstractContextManager["Processes"]):
    """Subprocesses started by the bench, each stopped (SIGTERM, then SIGKILL) by pid."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> tuple[
            subprocess.Popen[bytes], Path]:
        log = self.run_dir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc, log

    def chanalytics(self, name: str, version: Version, args: list[str],
                    health: str | None = None, **settings: str) -> subprocess.Popen[bytes]:
        """`chanalytics ARGS` with the version's code; waits for `health` (a URL) if given."""
        proc, log = self.start(name, [sys.executable, "-m", "chanalytics", *args],
                               version.env(**settings))
        if health:
            wait_http(health, proc, log)
        return proc

    def run(self, name: str, version: Version, args: list[str], **settings: str) -> None:
        """`chanalytics ARGS` to completion (e.g. `migrate`); fails with its output."""
        done = subprocess.run([sys.executable, "-m", "chanalytics", *args],
                              env=version.env(**settings), capture_output=True, text=True,
                              check=False)
        if done.returncode:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        stop(proc)
        if proc in self.started:
            self.started.remove(proc)

    def __exit__(self, *exc: Any) -> None:
        for proc in reversed(list(self.started)):
            self.stop(proc)
