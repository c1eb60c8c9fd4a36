"""PostgreSQL beside the rollups: the seed's approach (one table, an index, FILTER counts).

The first `--pg-events` events by generation number (`stream_seq`) — tenants and times are
hashed, so a uniform sample: every tenant keeps the same share — are exported as TSV and
loaded with COPY into a throw-away cluster run by the `postgres` user.
"""

# SQL here is built from constants of this script and the bench's own tenant ids.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.query.cells import pick_tenants
from bench.query.timing import Timing
from chanalytics.clickhouse.storage import Storage

PG_COLUMNS = ("id", "tenant_id", "event_type", "entity_id", "channel", "contact_id",
              "campaign_id", "template_id", "provider", "cost", "duration_ms", "occurred_at")

PG_OVERVIEW = """
SELECT
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(*) FILTER (WHERE event_type = 'message_bounced') AS bounced,
  COUNT(*) FILTER (WHERE event_type = 'message_failed') AS failed,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = '{tenant}' AND occurred_at >= '{start}' AND occurred_at < '{end}';"""

PG_DAILY = """
SELECT date_trunc('day', occurred_at AT TIME ZONE 'UTC') AS day,
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = '{tenant}' AND occurred_at >= '{start}' AND occurred_at < '{end}'
GROUP BY 1 ORDER BY 1;"""


# IRIS §5.2's provider ranking, for every channel at once (what `channels` answers).
PG_PROVIDERS = """
SELECT channel, provider,
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS total_sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS total_delivered,
  COUNT(*) FILTER (WHERE event_type = 'message_failed') AS total_failed,
  AVG(duration_ms) FILTER (WHERE event_type = 'message_delivered') AS avg_delivery_time_ms,
  PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration_ms)
    FILTER (WHERE event_type = 'message_delivered') AS p95_delivery_time_ms,
  SUM(cost) AS total_cost, AVG(cost) AS avg_cost_per_message
FROM analytics_events
WHERE tenant_id = '{tenant}' AND occurred_at >= '{start}' AND occurred_at < '{end}'
  AND event_type LIKE 'message_%'
GROUP BY channel, provider;"""


@dataclass
class PgResult:
    rows: int = 0
    tenant_rows: int = 0
    load_s: float = 0.0
    index_s: float = 0.0
    overview: Timing | None = None
    daily: Timing | None = None
    providers: Timing | None = None
    skipped: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _ensure_postgres() -> Path | None:
    found = _pg_bin()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    print("  installing PostgreSQL (apt-get install -y postgresql) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            return None
    return _pg_bin()


class PgCluster:
    """A throw-away cluster in a temp dir, on a loopback port, run by the `postgres` user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qbench-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.started = False

    def _as_pg(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        if self.as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in args)]
        else:
            cmd = args
        return subprocess.run(cmd, capture_output=True, text=True)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)
        res = self._as_pg([str(self.bindir / "initdb"), "-D", str(self.datadir),
                           "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr[-500:]}")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c shared_buffers=2GB -c work_mem=256MB -c maintenance_work_mem=1GB "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_wal_size=8GB -c max_parallel_workers_per_gather=2")
        res = self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w",
                           "-l", str(self.root / "log"), "-o", opts, "start"])
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {res.stderr[-500:]}")
        self.started = True

    def psql(self, sql: str, *, extra: list[str] | None = None) -> str:
        res = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "postgres", "-d", "postgres", *(extra or [])],
            input=sql, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"psql failed: {res.stderr[-800:]}")
        return res.stdout

    def stop(self) -> None:
        if self.started:
            self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                         "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def pg_timed(cluster: PgCluster, sql: str, reps: int, warmups: int = 3) -> Timing:
    """psql `\\timing` of repeated statements in one session (client round trip included)."""
    script = "\\o /dev/null\n" + (sql + "\n") * warmups + "\\timing on\n" + (sql + "\n") * reps
    out = cluster.psql(script)
    samples = [float(m) for m in re.findall(r"Time: ([0-9.]+) ms", out)]
    if len(samples) != reps:
        raise RuntimeError(f"expected {reps} timings, got {len(samples)}: {out[-300:]}")
    return Timing(samples)


def run_postgres(storage: Storage, args: argparse.Namespace, meta: dict[str, Any]) -> PgResult:
    """Load a sample into a throw-away PostgreSQL and time the seed's queries there."""
    result = PgResult()
    pg_events, reps, work = min(args.pg_events, args.events), args.reps, args.data_dir.resolve()
    tenant = pick_tenants(storage, ["largest"])["largest"][0]
    bindir = _ensure_postgres()
    if bindir is None:
        result.skipped = "PostgreSQL is not installed and could not be installed (apt-get)"
        print(f"  SKIP PostgreSQL: {result.skipped}", flush=True)
        return result
    cluster = PgCluster(bindir)
    tsv = work / "pg-events.tsv"
    try:
        cluster.start()
        t0 = time.perf_counter()
        storage.command_sync(
            f"INSERT INTO FUNCTION file('{tsv}', 'TSV') SELECT {', '.join(PG_COLUMNS)} "
            f"FROM analytics_events WHERE stream_seq < {int(pg_events)} "
            "SETTINGS engine_file_truncate_on_insert = 1")
        print(f"  exported TSV in {time.perf_counter() - t0:.1f} s "
              f"({tsv.stat().st_size / 1e9:.2f} GB)", flush=True)
        cluster.psql("""
CREATE UNLOGGED TABLE analytics_events (
  id text NOT NULL, tenant_id text NOT NULL, event_type varchar(50) NOT NULL,
  entity_id text, channel varchar(20), contact_id text, campaign_id text, template_id text,
  provider text, cost numeric(38, 12), duration_ms bigint, occurred_at timestamptz NOT NULL);""")
        t0 = time.perf_counter()
        cluster.psql(f"\\copy analytics_events FROM '{tsv}' WITH (FORMAT text)\n")
        result.load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cluster.psql("CREATE INDEX idx_analytics_tenant_type_time ON analytics_events "
                     "(tenant_id, event_type, occurred_at);\nVACUUM ANALYZE analytics_events;")
        result.index_s = time.perf_counter() - t0
        result.rows = int(cluster.psql("SELECT count(*) FROM analytics_events;",
                                       extra=["-At"]).strip())
        result.tenant_rows = int(cluster.psql(
            f"SELECT count(*) FROM analytics_events WHERE tenant_id = '{tenant}';",
            extra=["-At"]).strip())
        print(f"  PostgreSQL: {result.rows:,} rows loaded in {result.load_s:.1f} s, "
              f"index + analyze {result.index_s:.1f} s", flush=True)
        today = datetime.fromtimestamp(meta["end_ms"] / 1000, UTC).date()
        start, end = today - timedelta(days=30), today  # the "30d dates" cell in UTC
        fmt = {"tenant": tenant, "start": f"{start}T00:00:00Z", "end": f"{end}T00:00:00Z"}
        result.overview = pg_timed(cluster, PG_OVERVIEW.format(**fmt), reps)
        result.daily = pg_timed(cluster, PG_DAILY.format(**fmt), reps)
        result.providers = pg_timed(cluster, PG_PROVIDERS.format(**fmt), reps)
        print(f"  PostgreSQL overview p50 {result.overview.p50:.1f} p95 "
              f"{result.overview.p95:.1f} ms; daily p50 {result.daily.p50:.1f} p95 "
              f"{result.daily.p95:.1f} ms; providers p50 {result.providers.p50:.1f} p95 "
              f"{result.providers.p95:.1f} ms", flush=True)
    except Exception as exc:  # report and go on: the ClickHouse results still count
        result.skipped = f"PostgreSQL step failed: {exc}"
        print(f"  SKIP PostgreSQL: {result.skipped}", flush=True)
    finally:
        cluster.stop()
        tsv.unlink(missing_ok=True)
    return result


def pg_version() -> str:
    bindir = _pg_bin()
    if bindir is None:
        return ""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                         text=True).stdout
    found = re.search(r"\(PostgreSQL\) (\S+)", out)
    return found.group(1) if found else out.strip()
