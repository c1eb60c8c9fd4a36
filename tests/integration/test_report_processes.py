"""Scheduled reports with real processes: a ClickHouse server, NATS, and two `serve`
processes sharing the scheduler's lease. A report due every second runs each tick once
across both; the process holding the lease is killed (SIGKILL) and started again, and
the other takes over: no tick is run twice, the run the killed process left is finished,
and every delivery that reached the receiver twice carried the same delivery id."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from tests.conftest import clickhouse_server
from webhook_receiver import Script, receiver

from chanalytics.nats.server import LocalNatsServer, free_port
from chanalytics.reports.service import LEASE_KEY

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

R = "/api/v1/analytics/reports"


def _call(port: int, method: str, path: str, body: object = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer tok", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


def _wait(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def _holder(url: str) -> int | None:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value("chanalytics_locks")
        return int(((await kv.get(LEASE_KEY)).value or b"").split(b":")[1])
    except Exception:
        return None
    finally:
        await nc.close()


def test_two_serve_processes_and_a_killed_leader_run_each_tick_once(tmp_path: Path) -> None:
    nats_server = LocalNatsServer(tmp_path / "nats")
    nats_server.start()
    procs: dict[int, subprocess.Popen[bytes]] = {}
    ports = [free_port(), free_port()]
    try:
        with clickhouse_server(tmp_path / "engine") as ch_url, \
                receiver(Script(delay=0.3)) as (hook, script):
            env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
            env.update(CHANALYTICS_DATA_DIR=str(tmp_path / "data"),
                       CHANALYTICS_CLICKHOUSE_URL=ch_url, CHANALYTICS_NATS_URL=nats_server.url,
                       CHANALYTICS_API_KEYS="tok=t_alpha", CHANALYTICS_LOG_LEVEL="warning",
                       CHANALYTICS_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
                       CHANALYTICS_LOG_FORMAT="json")
            migrate = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"],
                                     env=env, capture_output=True, timeout=120)
            assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]

            def start(i: int) -> None:
                log = (tmp_path / f"serve-{i}.log").open("ab")
                procs[i] = subprocess.Popen(
                    [sys.executable, "-m", "chanalytics", "serve"], stderr=log,
                    stdout=subprocess.DEVNULL, env={**env, "CHANALYTICS_HTTP_PORT": str(ports[i])})

            marks = [time.monotonic()]
            for i in (0, 1):
                start(i)
            for port in ports:
                _wait(lambda port=port: _call(port, "GET", "/health/ready")[0] == 200, 60)
            status, created = _call(ports[0], "POST", R, {
                "name": "Every second", "format": "csv",
                "query": {"metrics": ["sent"], "dimensions": ["channel"], "timeRange": "1d"},
                "schedule": {"cron": "* * * * * *"},
                "deliveries": [{"webhook": {"url": f"http://127.0.0.1:{hook}/h",
                                            "secret": "k"}}]})
            assert status == 201
            marks.append(time.monotonic())
            report = created["data"]["id"]
            _wait(lambda: len(script.received) >= 3, 30)
            holder = asyncio.run(_holder(nats_server.url))
            leader = next(i for i, p in procs.items() if p.pid == holder)
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait()
            killed_at = len(script.received)
            marks.append(time.monotonic())
            start(leader)
            other = ports[1 - leader]
            # The other process takes the lease once the dead holder's key expires (5 s).
            _wait(lambda: len(script.received) >= killed_at + 2, 40)
            print(f"started in {marks[1] - marks[0]:.1f} s; taken over "
                  f"{time.monotonic() - marks[2]:.1f} s after the kill")
            quiet = {**created["data"], "schedule": {"cron": "0 0 1 1 *"}}
            for key in ("id", "createdAt", "updatedAt", "nextRunAt"):
                quiet.pop(key)
            quiet["deliveries"] = [{"webhook": {"url": f"http://127.0.0.1:{hook}/h",
                                                "secret": "k"}}]
            assert _call(other, "PUT", f"{R}/{report}", quiet)[0] == 200
            time.sleep(1.5)  # a run started just before the change finishes

            status, runs = _call(other, "GET", f"{R}/{report}/runs")
            assert status == 200
            items = runs["data"]["items"]
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        nats_server.stop()
    ticks = [r["scheduledFor"] for r in items]
    # Three or more before the kill, one or more after the takeover (the ticks missed
    # meanwhile coalesced into one run).
    assert len(ticks) == len(set(ticks)) >= 4
    assert all(r["status"] == "succeeded" for r in items), items
    sent = Counter(r.headers["chanalytics-delivery"] for r in script.received)
    assert set(sent) == {r["deliveries"][0]["deliveryId"] for r in items}
    assert sum(n - 1 for n in sent.values()) <= 1  # at most the killed run's delivery again
