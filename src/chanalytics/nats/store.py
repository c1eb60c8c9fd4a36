"""One nats-server per JetStream store, owned by one live process.

Two servers on one store each keep their own view of it: a publisher confirmed by one is
never read by an ingest attached to the other, and both write the same files. So the
process that starts the bundled server first *claims* the store:

1. an exclusive `flock` on `owner.lock`, held for as long as it runs: the kernel lets
   go of it however the owner ends (SIGKILL included), and a second live owner is
   refused instead of starting a second server;
2. with the lock held, any nats-server still running on this store is a leftover of an
   owner that died (its pid in `server.pid`, or found by its command line in /proc); it
   is stopped — SIGTERM, so what it confirmed is flushed to the store, then SIGKILL —
   before a new one starts, which can then take its port back.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import msgspec
import structlog

log = structlog.get_logger(__name__)

LOCK_FILE = "owner.lock"
PID_FILE = "server.pid"


class StoreBusy(RuntimeError):
    """Another live process owns this store (and runs its server)."""


class ServerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """`server.pid`: the store's running server, for the next start to check."""

    pid: int
    port: int
    owner: int  # the process that started it (for people; the lock decides)


class StoreClaim:
    """The owner lock on one store dir; `release()` (or the owner's death) lets it go."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir.resolve()
        self._lock: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock, then stop whatever server a dead owner left on the store."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.store_dir / LOCK_FILE).open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise StoreBusy(f"another process is running a NATS server on {self.store_dir} "
                            "(is another chanalytics running on this data directory?)") from None
        self._lock = lock
        try:
            for pid in leftover_servers(self.store_dir):
                stop_process(pid)
                log.warning("nats.leftover.stopped", pid=pid, store_dir=str(self.store_dir),
                            hint="a nats-server of an owner that died was still running")
        except BaseException:
            self.release()
            raise

    def record(self, pid: int, port: int) -> None:
        path = self.store_dir / PID_FILE
        path.write_bytes(msgspec.json.encode(ServerRecord(pid=pid, port=port,
                                                          owner=os.getpid())))

    def last_port(self) -> int | None:
        """The port of the store's last server (kept when its owner died)."""
        record = read_record(self.store_dir)
        return record.port if record else None

    def release(self, *, clean: bool = False) -> None:
        """Let the lock go; `clean`: the server has stopped, so its record goes too."""
        if clean:
            (self.store_dir / PID_FILE).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()  # closing the descriptor drops the flock
            self._lock = None


def read_record(store_dir: Path) -> ServerRecord | None:
    try:
        return msgspec.json.decode((store_dir / PID_FILE).read_bytes(), type=ServerRecord)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def leftover_servers(store_dir: Path) -> list[int]:
    """Live nats-server processes whose `-sd` is `store_dir`: the recorded pid (checked,
    since pids are reused) and, where /proc exists, any other (e.g. of an older version)."""
    candidates = set()
    if (record := read_record(store_dir)) is not None:
        candidates.add(record.pid)
    proc = Path("/proc")
    if proc.is_dir():
        candidates.update(int(p.name) for p in proc.iterdir() if p.name.isdigit())
    candidates.discard(os.getpid())
    return sorted(pid for pid in candidates if _serves(pid, store_dir) and alive(pid))


def _serves(pid: int, store_dir: Path) -> bool:
    argv = _command_line(pid)
    if not argv or not Path(argv[0]).name.startswith("nats-server") or "-sd" not in argv:
        return False
    at = argv.index("-sd") + 1
    return at < len(argv) and Path(argv[at]).resolve() == store_dir


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return []  # Linux: the process is gone
    except OSError:
        return []
    # No /proc (macOS): ask ps; a path with spaces may split wrongly, so no match, no harm.
    done = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)],
                          capture_output=True, text=True, check=False)
    return done.stdout.split()


def alive(pid: int) -> bool:
    """Running (a zombie is not: it holds no port and no file, only a waiting parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: kill(0) is the best answer there is
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop_process(pid: int, grace: float = 10.0) -> None:
    """SIGTERM (a nats-server then flushes its store), SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:  # another user's: it cannot be ours to stop, nor to share
            raise StoreBusy(f"nats-server {pid}, of another user, runs on this store") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.02)
    raise RuntimeError(f"nats-server {pid} did not stop")
