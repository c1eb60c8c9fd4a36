"""One nats-server per store: the owner lock, and the stop of a server a dead owner left
(stood in for by a process that looks like one: a Python sleeping under the name
`nats-server`, with `-sd` naming the store)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from chanalytics.nats.store import (
    PID_FILE,
    ServerRecord,
    StoreBusy,
    StoreClaim,
    alive,
    leftover_servers,
)


def _look_alike(store: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["nats-server", "-c", "import time; time.sleep(60)", "-sd",
                             str(store)], executable=sys.executable)
    deadline = time.monotonic() + 10
    while not leftover_servers(store.resolve()):  # until its command line is visible
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return proc


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    path = (tmp_path / "nats").resolve()
    path.mkdir()
    yield path


class TestStoreClaim:
    def test_a_server_left_on_the_store_is_stopped(self, store: Path) -> None:
        """Claiming the store stops a nats-server still running on it."""
        left = _look_alike(store)
        claim = StoreClaim(store)
        try:
            claim.acquire()
            assert left.wait(timeout=5) is not None
        finally:
            claim.release()
            if left.poll() is None:
                left.kill()

    def test_a_server_on_another_store_is_left_alone(self, store: Path,
                                                    tmp_path: Path) -> None:
        other = _look_alike(tmp_path)
        claim = StoreClaim(store)
        try:
            claim.acquire()
            time.sleep(0.2)
            assert other.poll() is None
        finally:
            claim.release()
            other.kill()
            other.wait()

    def test_a_recorded_pid_that_is_no_nats_server_is_left_alone(self, store: Path) -> None:
        """A pid in server.pid reused by another program is not signalled."""
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        (store / PID_FILE).write_bytes(msgspec.json.encode(
            ServerRecord(pid=sleeper.pid, port=4222, owner=1)))
        claim = StoreClaim(store)
        try:
            claim.acquire()
            assert sleeper.poll() is None
            assert claim.last_port() == 4222  # its port is still the one to prefer
        finally:
            claim.release()
            sleeper.kill()
            sleeper.wait()

    def test_a_second_live_owner_is_refused_until_the_first_lets_go(self, store: Path) -> None:
        first = StoreClaim(store)
        first.acquire()
        try:
            with pytest.raises(StoreBusy):
                StoreClaim(store).acquire()
        finally:
            first.release(clean=True)
        second = StoreClaim(store)
        second.acquire()
        second.release()

    def test_the_lock_goes_with_a_killed_owner(self, store: Path) -> None:
        """The kernel drops the flock of a SIGKILLed owner: the next start may claim."""
        owner = subprocess.Popen([sys.executable, "-c", (
            "import sys, time; from pathlib import Path;"
            "from chanalytics.nats.store import StoreClaim;"
            f"claim = StoreClaim(Path({str(store)!r})); claim.acquire(); print('ok', flush=True);"
            "time.sleep(60)")], stdout=subprocess.PIPE)
        assert owner.stdout is not None
        assert owner.stdout.readline() == b"ok\n"
        with pytest.raises(StoreBusy):
            StoreClaim(store).acquire()
        owner.kill()
        owner.wait()
        claim = StoreClaim(store)
        claim.acquire()
        claim.release()


def test_a_zombie_is_not_alive() -> None:
    """A child that exited but was not yet waited for holds nothing: not alive."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while alive(child.pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert child.wait() == 0
