"""The daily export over real ClickHouse and a real NATS lease: the previous UTC day at
00:30 UTC, once across processes, and days missed while nothing ran."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nats
import pytest
from tests.integration.test_exports import Published, _tree, store_published

from chanalytics.clickhouse.storage import Storage
from chanalytics.coordination.lease import KvLease, LocalLock
from chanalytics.nats.server import free_port
from chanalytics.query.engine import Engine
from chanalytics.warehouse.daily import DELAY, DailyExport

pytestmark = pytest.mark.clickhouse


@pytest.fixture
async def published(storage: Storage) -> Published:
    return await store_published(storage)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _days(directory: Path) -> list[str]:
    return list(json.loads((directory / "manifest.json").read_bytes())["days"]["ndjson"])


class TestDailyExport:
    async def test_the_previous_day_is_due_at_00_30(
        self, storage: Storage, published: Published, tmp_path: Path
    ) -> None:
        """At 00:29 UTC the day before is not yet due; at 00:30 it is exported, and a
        later run that day finds nothing to do."""
        now = [_at("2026-05-03T00:29:59")]
        job = DailyExport(Engine(storage), tmp_path, LocalLock(), clock=lambda: now[0])
        assert await job.run_due() == [date(2026, 5, 1)]  # a new feed: the last due day
        now[0] = _at("2026-05-03T00:30:00")
        assert await job.run_due() == [date(2026, 5, 2)]
        now[0] = _at("2026-05-03T23:30:00")
        assert await job.run_due() == []
        assert _days(tmp_path) == ["2026-05-01", "2026-05-02"]
        assert set(_tree(tmp_path)) == {"manifest.json", "t_alpha/2026-05-01.ndjson",
                                        "t_alpha/2026-05-02.ndjson"}

    async def test_missed_days_are_exported_when_the_service_next_runs(
        self, storage: Storage, published: Published, tmp_path: Path
    ) -> None:
        """After days without a run, the next run exports every day since the last one in
        the manifest, and the files equal those of a run on each day."""
        now = [_at("2026-05-02T01:00:00")]
        job = DailyExport(Engine(storage), tmp_path, LocalLock(), clock=lambda: now[0])
        assert await job.run_due() == [date(2026, 5, 1)]
        now[0] = _at("2026-05-05T12:00:00")  # 2, 3 and 4 May were missed
        assert await job.run_due() == [date(2026, 5, 2), date(2026, 5, 3), date(2026, 5, 4)]
        assert _days(tmp_path) == ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"]
        daily = _tree(tmp_path)
        one_by_one = tmp_path / "one_by_one"
        for day in range(2, 6):
            now[0] = _at(f"2026-05-0{day}T00:30:00")
            await DailyExport(Engine(storage), one_by_one, LocalLock(),
                              clock=lambda: now[0]).run_due()
        assert _tree(one_by_one) == daily

    async def test_a_failed_run_records_nothing_and_the_next_retries(
        self, storage: Storage, published: Published, tmp_path: Path
    ) -> None:
        """A run that fails (the export directory is a file) logs and records no day; the
        next run exports it."""
        target = tmp_path / "feed"
        target.write_text("not a directory")
        now = _at("2026-05-04T00:30:00")
        job = DailyExport(Engine(storage), target, LocalLock(), clock=lambda: now)
        await job.run_logged()
        target.unlink()
        assert await job.run_due() == [date(2026, 5, 3)]

    @pytest.mark.nats
    async def test_several_processes_export_a_day_once(
        self, storage: Storage, published: Published, tmp_path: Path, nats_url: str
    ) -> None:
        """Three processes' jobs, each with its own NATS lease, run at the same 00:30 on
        one shared directory: one exports the day, the others find it done."""
        bucket = f"locks_{uuid.uuid4().hex[:8]}"
        connections = [await nats.connect(nats_url) for _ in range(3)]
        try:
            jobs = [DailyExport(Engine(storage), tmp_path,
                                KvLease(nc.jetstream(), bucket=bucket, key="daily-export"),
                                clock=lambda: _at("2026-05-04T00:30:00"))
                    for nc in connections]
            done = await asyncio.gather(*(job.run_due() for job in jobs))
        finally:
            for nc in connections:
                await nc.close()
        assert sorted(done) == [[], [], [date(2026, 5, 3)]]
        assert _days(tmp_path) == ["2026-05-03"]


@pytest.mark.nats
@pytest.mark.once
def test_run_exports_the_previous_day_at_start(tmp_path: Path) -> None:
    """`chanalytics run` with CHANALYTICS_EXPORT_DIR schedules the job on its ingest side:
    the manifest records yesterday (UTC) soon after start, without a file (no events)."""
    feed = tmp_path / "feed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
    env.update(CHANALYTICS_DATA_DIR=str(tmp_path / "data"), CHANALYTICS_EXPORT_DIR=str(feed),
               CHANALYTICS_HTTP_PORT=str(free_port()), CHANALYTICS_LOG_FORMAT="json")
    started = datetime.now(UTC)
    proc = subprocess.Popen([sys.executable, "-m", "chanalytics", "run", "--nats-port",
                             str(free_port())], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (feed / "manifest.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, "run exited"
            time.sleep(0.5)
        due = {((at - DELAY).date() - timedelta(days=1)).isoformat()
               for at in (started, datetime.now(UTC))}  # 00:30 may pass meanwhile
        manifest = json.loads((feed / "manifest.json").read_bytes())
        assert manifest["files"] == {}
        assert len(manifest["days"]["ndjson"]) == 1 and manifest["days"]["ndjson"][0] in due
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0
