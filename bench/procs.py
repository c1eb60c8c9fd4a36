"""What the benches do with the processes they start: read their memory, stop them."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) of a running process, in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("RssAnon", 0.0)


def stop(proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """SIGTERM, then SIGKILL when it has not exited within `seconds`; reaped either way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
