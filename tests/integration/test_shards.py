"""The cluster path of ClickHouse, for real as far as no Keeper allows: two local servers
(`chanalytics clickhouse-server --cluster shop --shard …`) are the shards of a
`remote_servers` cluster, `migrate --cluster shop` runs on each, and `ingest` on one node
and `serve` on the other see one database.

Each tenant's rows live on one shard (the tables are sharded by `cityHash64(tenant_id)`),
events re-sent with other timestamps are stored once, every rollup agrees with the raw
table, and the API answers the exact totals from the other node.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.conftest import clickhouse_server
from tests.integration.test_cli import _get
from tests.integration.test_crash_loop import _PUBLISH_SCRIPT, consumer_idle
from tests.integration.test_multiprocess import _env, _wait

from chanalytics.cli.demo import DemoTraffic
from chanalytics.clickhouse.cluster import Layout
from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.drift import find_drift
from chanalytics.nats.server import LocalNatsServer, free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

TENANTS = [f"tenant_{i}" for i in range(6)]
EVENTS = 6_000
RESENT = 1_000


def _publish(nats_url: str, events: list[tuple[str, dict[str, Any]]]) -> None:
    publisher = subprocess.run(
        [sys.executable, "-c", _PUBLISH_SCRIPT, nats_url, str(Path(__file__).parent)],
        input=msgspec.json.encode(events), timeout=300)
    assert publisher.returncode == 0


def test_two_shards_one_database(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    events = list(DemoTraffic(TENANTS, seed=9).stories(
        now - timedelta(days=2), now - timedelta(minutes=1), EVENTS // 5))[:EVENTS]
    # The same events again, an hour later: a re-send whose timestamps moved.
    resent = [(s, {**e, "timestamp": (datetime.fromisoformat(e["timestamp"].replace(
        "Z", "+00:00")) + timedelta(hours=1)).isoformat()}) for s, e in events[:RESENT]]
    tcp = [free_port(), free_port()]
    shard_args = ["--cluster", "shop", *(a for p in tcp for a in ("--shard", f"127.0.0.1:{p}"))]
    nats_server = LocalNatsServer(tmp_path / "nats")
    nats_server.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with ExitStack() as stack:
            urls = [stack.enter_context(clickhouse_server(tmp_path / f"shard{i}", tcp_port=p,
                                                          args=shard_args))
                    for i, p in enumerate(tcp)]
            for url in urls:  # no Keeper, no ON CLUSTER: each node gets its own DDL
                migrate = subprocess.run(
                    [sys.executable, "-m", "chanalytics", "migrate", "--cluster", "shop"],
                    env=_env(tmp_path, url, nats_server.url), capture_output=True,
                    timeout=120)
                assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]
            cluster = {"CHANALYTICS_CLICKHOUSE_CLUSTER": "shop"}
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "chanalytics", "ingest"],
                env=_env(tmp_path, urls[0], nats_server.url, **cluster),
                stderr=(tmp_path / "ingest.log").open("wb")))
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "chanalytics", "serve"],
                env=_env(tmp_path, urls[1], nats_server.url, CHANALYTICS_HTTP_PORT=str(port),
                         CHANALYTICS_API_KEYS="tok=tenant_0", **cluster),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _wait(lambda: _get(f"http://127.0.0.1:{port}/health/ready")[0] == 200, 60)
            _wait(lambda: asyncio.run(consumer_idle(nats_server.url)), 60)
            _publish(nats_server.url, events)
            _publish(nats_server.url, resent)
            _wait(lambda: asyncio.run(consumer_idle(nats_server.url)), 300)
            assert procs[0].poll() is None, (tmp_path / "ingest.log").read_text()[-3000:]

            truth = Counter(s.removeprefix("pipeline.").replace(".", "_") for s, _ in events)
            placed: dict[str, int] = {}
            for shard, url in enumerate(urls):
                local = Storage(url, "chanalytics_local")
                local.connect()
                try:
                    for (tenant,) in local.query_sync(
                            "SELECT DISTINCT tenant_id FROM analytics_events"):
                        assert tenant not in placed, f"{tenant} on two shards"
                        placed[tenant] = shard
                finally:
                    local.close()
            assert set(placed) == set(TENANTS) and set(placed.values()) == {0, 1}

            storage = Storage(urls[1], "chanalytics", placement=Layout("chanalytics", "shop"))
            storage.connect()
            try:
                rows, ids = storage.query_sync(
                    "SELECT count(), uniqExact(id) FROM analytics_events")[0]
                raw = dict(storage.query_sync(
                    "SELECT event_type, count() FROM analytics_events GROUP BY 1"))
                rolled = dict(storage.query_sync(
                    "SELECT event_type, sum(events) FROM message_counts_15m GROUP BY 1"))
                drift = asyncio.run(find_drift(storage, now, hours=72))
            finally:
                storage.close()
            assert rows == ids == len(events)
            assert raw == dict(truth)
            assert rolled == {t: n for t, n in truth.items() if t.startswith("message_")}
            assert drift == []

            sent = sum(1 for s, e in events
                       if s == "pipeline.message.sent" and e["tenantId"] == "tenant_0")
            code, body = _get(f"http://127.0.0.1:{port}/api/v1/analytics/overview"
                              "?timeRange=7d", "tok")
            assert code == 200, body
            assert json.loads(body)["data"]["summary"]["totalMessagesSent"] == sent
            for path in ("messages", "campaigns", "workflows", "sequences", "templates",
                         "traffic", "events"):
                code, body = _get(f"http://127.0.0.1:{port}/api/v1/analytics/{path}"
                                  "?timeRange=7d", "tok")
                assert code == 200, (path, body[:300])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        nats_server.stop()
