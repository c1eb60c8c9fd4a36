"""`chanalytics clickhouse-server`: the embedded engine on the data directory, served as a
real ClickHouse server (HTTP and native TCP) on loopback.

The chdb wheel holds upstream clickhouse-local. Its module-level `query(…, path=DIR)`
runs `LocalServer`, which reads `config.xml` from the working directory; `SYSTEM START
LISTEN QUERIES ALL` starts the HTTP and TCP handlers, and they live as long as the call
that started them runs (its output format becomes the HTTP default: TabSeparated, as
clients expect). So one thread makes that call and then keeps it open with a
query that sleeps; a stop (SIGTERM, SIGINT) kills that query over HTTP, the call returns
and the process exits. The `default` user has no password, which is why it listens on
127.0.0.1 only; no HTTPS, no Keeper. Nothing else in this process may use chDB.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

import structlog

from chanalytics.clickhouse.storage import EMBEDDED_ALLOCATOR
from chanalytics.ports import port_taken

log = structlog.get_logger(__name__)

HOST = "127.0.0.1"
CONFIG = """<clickhouse>
  <listen_host>{host}</listen_host>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <keep_alive_timeout>30</keep_alive_timeout>{remote_servers}
</clickhouse>
"""
# One replica per shard, the shards' native TCP addresses in order (a test cluster of local
# servers: no Keeper, so no replicas; see src/chanalytics/clickhouse/cluster.py).
REMOTE_SERVERS = """
  <remote_servers>
    <{name}>{shards}
    </{name}>
  </remote_servers>"""
SHARD = """
      <shard><replica><host>{host}</host><port>{port}</port></replica></shard>"""
# Held open until killed: one row a second, ~3 years, no per-block sleep cap.
HOLD = ("SYSTEM START LISTEN QUERIES ALL; "
        "SELECT sleepEachRow(1) FROM numbers(100000000) "
        "SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 "
        "FORMAT Null")
STOP = "KILL QUERY WHERE interface = 'Local' SYNC"


def _http(url: str, body: bytes | None = None, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=timeout) as r:
        return bytes(r.read())


def remote_servers(cluster: str | None, shards: list[tuple[str, int]]) -> str:
    if not cluster:
        return ""
    return REMOTE_SERVERS.format(name=cluster, shards="".join(
        SHARD.format(host=escape(host), port=port) for host, port in shards))


def serve_clickhouse(data_dir: Path, http_port: int, tcp_port: int,
                     ready_timeout: float = 120.0, *, cluster: str | None = None,
                     shards: list[tuple[str, int]] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; 0 on a clean stop, 1 if the engine stopped by itself,
    2 if a port is taken. With `cluster`, the config names a cluster of `shards`."""
    for name, port in (("HTTP", http_port), ("TCP", tcp_port)):
        if why := port_taken(HOST, port):
            print(f"chanalytics: cannot listen on the {name} port {HOST}:{port} ({why}): "
                  f"choose another with --{name.lower()}-port", file=sys.stderr)
            return 2
    data_dir = data_dir.resolve()
    engine_dir = data_dir / "clickhouse"  # the embedded default's directory: same data
    run_dir = data_dir / "clickhouse-server"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.xml").write_text(
        CONFIG.format(host=HOST, http_port=http_port, tcp_port=tcp_port,
                      remote_servers=remote_servers(cluster, shards or [])))
    os.chdir(run_dir)  # LocalServer reads ./config.xml
    os.environ.setdefault("JE_MALLOC_CONF", EMBEDDED_ALLOCATOR)
    from chdb import _chdb  # after the allocator setting: it is read when chDB loads

    ended: list[BaseException | None] = []

    def hold() -> None:
        try:
            _chdb.query(HOLD, "TabSeparated", path=str(engine_dir))  # type: ignore[attr-defined]
            ended.append(None)
        except BaseException as exc:  # the kill ends the call with "Query was cancelled"
            ended.append(exc)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    holder = threading.Thread(target=hold, name="clickhouse-local", daemon=True)
    holder.start()
    url = f"http://{HOST}:{http_port}"
    deadline = time.monotonic() + ready_timeout
    while True:
        try:
            _http(f"{url}/ping", timeout=1)
            break
        except OSError:
            if not holder.is_alive() or time.monotonic() > deadline or stop.is_set():
                print(f"chanalytics: the ClickHouse server did not start: {ended[:1]}",
                      file=sys.stderr)
                return 1
            time.sleep(0.1)
    log.info("clickhouse.server.ready", http=url, tcp=f"{HOST}:{tcp_port}",
             data_dir=str(engine_dir))
    print(f"ClickHouse server ready: {url} (native TCP {HOST}:{tcp_port}), data in "
          f"{engine_dir}\n  use it: CHANALYTICS_CLICKHOUSE_URL={url}", flush=True)
    while not stop.wait(0.5):
        if not holder.is_alive():
            log.error("clickhouse.server.stopped", error=str(ended[:1]))
            return 1
    try:
        _http(url, STOP.encode(), timeout=30)
    except OSError as exc:
        log.warning("clickhouse.server.stop_failed", error=str(exc))
    holder.join(30)
    log.info("clickhouse.server.stopped", clean=not holder.is_alive())
    return 0
