"""The warehouse feed over real ClickHouse: contract events stored by the real writer,
exported as files per tenant and UTC day, checked against what was published."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chanalytics.cli.main import _export, _parser
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine
from chanalytics.query.events import EventsQuery
from chanalytics.warehouse import feed
from chanalytics.warehouse.feed import export_days, tenant_dir

pytestmark = pytest.mark.clickhouse

# The drill-down's item fields, as the contract lists them (API-REPORTS.md).
CONTRACT_FIELDS = ["id", "type", "occurredAt", "ingestedAt", "channel", "entityType",
                   "entityId", "contactId", "campaignId", "workflowId", "sequenceId",
                   "templateId", "provider", "cost", "durationMs", "errorCode", "bounceType",
                   "url", "metadata"]
EVIL = "../evil/tenant"  # a tenant id that must not leave the export directory
FIRST, LAST = date(2026, 5, 1), date(2026, 5, 3)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class Published:
    """The events sent, and what each one's exported row must say."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, bytes]] = []
        self.expected: dict[str, dict[str, Any]] = {}  # id -> the fields we can know
        self.tenant: dict[str, str] = {}

    def sent(self, tenant: str, n: int, at: datetime, **data: Any) -> None:
        event_id = f"{tenant[:5]}-{n:04d}"
        body = {"messageId": f"m{n}", "channel": "sms" if n % 3 == 0 else "email",
                "contactId": f"c{n % 5}", **data}
        self.pairs.append(("pipeline.message.sent", json.dumps({
            "id": event_id, "tenantId": tenant, "timestamp": _stamp(at), "data": body,
        }).encode()))
        self.expected[event_id] = {
            "id": event_id, "type": "message_sent", "occurredAt": _stamp(at),
            "channel": body["channel"], "contactId": body["contactId"],
            "cost": data.get("cost"), "metadata": data.get("metadata"), "at": at}
        self.tenant[event_id] = tenant

    def rows(self, tenant: str, day: date) -> list[dict[str, Any]]:
        """The day's events of the tenant, newest first (time, then id, descending)."""
        mine = [e for i, e in self.expected.items()
                if self.tenant[i] == tenant and e["at"].date() == day]
        return sorted(mine, key=lambda e: (e["at"], e["id"]), reverse=True)

    def files(self) -> set[tuple[str, date]]:
        return {(self.tenant[i], e["at"].date()) for i, e in self.expected.items()
                if FIRST <= e["at"].date() <= LAST}


def _published() -> Published:
    p = Published()
    midnight = datetime(2026, 5, 2, tzinfo=UTC)
    ms = timedelta(milliseconds=1)
    p.sent("t_alpha", 1, midnight - ms, cost=0.0125, metadata={"k": 1, "s": "a,\"b\"\nc"})
    p.sent("t_alpha", 2, midnight)  # the first instant of 2 May: 2 May's file
    p.sent("t_alpha", 3, midnight + timedelta(hours=5), cost=1.5)
    p.sent("t_alpha", 4, midnight + timedelta(hours=5))  # same instant: by id
    for n in range(10, 40):
        p.sent("t_alpha", n, datetime(2026, 5, 1, tzinfo=UTC) + timedelta(minutes=37 * n))
    p.sent("t_beta", 1, datetime(2026, 5, 3, 12, tzinfo=UTC), metadata={"x": [1, 2]})
    p.sent("t_beta", 2, datetime(2026, 4, 30, 23, 59, 59, 999000, tzinfo=UTC))  # outside
    p.sent("t_beta", 3, datetime(2026, 5, 4, tzinfo=UTC))  # outside
    p.sent(EVIL, 1, datetime(2026, 5, 3, 1, tzinfo=UTC))
    return p


@pytest.fixture
async def published(storage: Storage) -> Published:
    return await store_published(storage)


async def store_published(storage: Storage) -> Published:
    """The events, stored by the real writer; the first three are delivered twice."""
    p = _published()
    writer = BatchWriter(storage, Metrics())
    await writer.write([map_event(s, b) for s, b in p.pairs])
    await writer.write([map_event(s, b) for s, b in p.pairs[:3]])  # delivered twice
    return p


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(f.relative_to(directory)): f.read_bytes()
            for f in sorted(directory.rglob("*")) if f.is_file()}


def _path(tenant: str, day: date, fmt: str) -> str:
    return f"{tenant_dir(tenant)}/{day.isoformat()}.{fmt}"


def _decode(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """A file's rows as dicts of the fields, read by each format's own reader."""
    if fmt == "ndjson":
        return [json.loads(line) for line in body.decode().splitlines()]
    if fmt == "csv":
        text = body.decode()
        assert next(csv.reader(io.StringIO(text))) == CONTRACT_FIELDS
        return [{k: (v if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(text, newline=""))]
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == CONTRACT_FIELDS
    rows = table.to_pylist()
    for row in rows:
        for key in ("occurredAt", "ingestedAt"):
            assert row[key].tzinfo is not None
            row[key] = _stamp(row[key].astimezone(UTC))
    return rows


def _check_row(fmt: str, row: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(row) == CONTRACT_FIELDS
    for key in ("id", "type", "occurredAt", "channel", "contactId"):
        assert row[key] == want[key], key
    assert row["campaignId"] is None
    assert row["ingestedAt"].endswith("Z")
    cost = row["cost"]
    assert (None if cost is None else float(cost)) == want["cost"]
    metadata = row["metadata"]
    if fmt == "ndjson":
        assert metadata == want["metadata"]
    else:
        assert (None if metadata is None else json.loads(metadata)) == want["metadata"]


class TestExportFiles:
    @pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
    async def test_one_file_per_tenant_and_utc_day_with_every_event(
        self, storage: Storage, published: Published, tmp_path: Path, fmt: str
    ) -> None:
        """Each tenant with events on a UTC day gets that day's events, newest first, in the
        drill-down's fields; days split at UTC midnight; none from outside the range."""
        written = await export_days(Engine(storage), tmp_path, FIRST, LAST, fmt)
        expected = {_path(t, d, fmt): (t, d) for t, d in published.files()}
        tree = _tree(tmp_path)
        assert set(tree) == {*expected, "manifest.json"}
        assert len(written) == len(expected)
        for name, (tenant, day) in expected.items():
            rows = _decode(fmt, tree[name])
            want = published.rows(tenant, day)
            assert [r["id"] for r in rows] == [w["id"] for w in want], name
            for row, one in zip(rows, want, strict=True):
                _check_row(fmt, row, one)
        assert (tmp_path / "%2E.%2Fevil%2Ftenant" / f"2026-05-03.{fmt}").is_file()

    @pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
    async def test_the_manifest_describes_each_file(
        self, storage: Storage, published: Published, tmp_path: Path, fmt: str
    ) -> None:
        """manifest.json gives each file's rows, bytes and sha256, and the days done."""
        await export_days(Engine(storage), tmp_path, FIRST, LAST, fmt)
        manifest = json.loads((tmp_path / "manifest.json").read_bytes())
        assert manifest["days"] == {fmt: ["2026-05-01", "2026-05-02", "2026-05-03"]}
        assert set(manifest["files"]) == {_path(t, d, fmt) for t, d in published.files()}
        for name, entry in manifest["files"].items():
            body = (tmp_path / name).read_bytes()
            tenant, day = entry["tenant"], date.fromisoformat(entry["day"])
            assert name == _path(tenant, day, fmt)
            assert entry["rows"] == len(published.rows(tenant, day))
            assert entry["bytes"] == len(body)
            assert entry["sha256"] == hashlib.sha256(body).hexdigest()

    async def test_rerunning_rewrites_every_byte_identically(
        self, storage: Storage, published: Published, tmp_path: Path
    ) -> None:
        """A second export of the same days, in every format into one directory, leaves
        every file and the manifest byte for byte as the first did."""
        engine = Engine(storage)
        for fmt in ("ndjson", "csv", "parquet"):
            await export_days(engine, tmp_path, FIRST, LAST, fmt)
        first = _tree(tmp_path)
        for fmt in ("parquet", "ndjson", "csv"):
            await export_days(engine, tmp_path, FIRST, LAST, fmt)
        assert _tree(tmp_path) == first
        again = tmp_path / "again"
        for fmt in ("ndjson", "csv", "parquet"):
            await export_days(engine, again, FIRST, LAST, fmt)
        assert _tree(again) == first

    async def test_the_tenant_filter(
        self, storage: Storage, published: Published, tmp_path: Path
    ) -> None:
        """With a tenant, only its files are written, and no day is recorded as done for
        every tenant; a tenant without events that day gets no file."""
        await export_days(Engine(storage), tmp_path, FIRST, LAST, "ndjson", "t_beta")
        assert set(_tree(tmp_path)) == {"t_beta/2026-05-03.ndjson", "manifest.json"}
        manifest = json.loads((tmp_path / "manifest.json").read_bytes())
        assert manifest["days"] == {}
        assert manifest["files"]["t_beta/2026-05-03.ndjson"]["rows"] == 1


def _pausing(check: Callable[[], None], fail: bool = False) -> dict[str, Any]:
    """The engine's encoders, calling `check` once a file's first chunk is written (and
    then failing, with `fail`)."""
    real = dict(feed.EVENT_FORMATS)

    def wrap(fmt: str) -> Any:
        async def encoder(engine: Engine, query: EventsQuery) -> AsyncIterator[bytes]:
            async for n, chunk in _numbered(real[fmt](engine, query)):
                yield chunk
                if n == 0:
                    check()
                    if fail:
                        raise RuntimeError("the export broke off")
        return encoder
    return {fmt: wrap(fmt) for fmt in real}


async def _numbered(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    n = 0
    async for chunk in chunks:
        yield n, chunk
        n += 1


class TestAtomicity:
    async def test_a_file_appears_only_once_complete(
        self, storage: Storage, published: Published, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """While a file is written, its final name holds the previous export (or nothing)
        and the new bytes go to a dot-file beside it."""
        engine = Engine(storage)
        await export_days(engine, tmp_path, FIRST, FIRST, "ndjson")
        before = _tree(tmp_path)
        seen: list[list[str]] = []

        def check() -> None:
            names = sorted(os.listdir(tmp_path / "t_alpha"))
            seen.append(names)
            assert (tmp_path / "t_alpha" / "2026-05-01.ndjson").read_bytes() == \
                before["t_alpha/2026-05-01.ndjson"]
            assert "2026-05-02.ndjson" not in names

        monkeypatch.setattr(feed, "EVENT_FORMATS", _pausing(check))
        await export_days(engine, tmp_path, FIRST, date(2026, 5, 2), "ndjson")
        assert any(n.startswith(".2026-05-01.ndjson.") and n.endswith(".tmp")
                   for n in seen[0])
        assert not [n for n in _tree(tmp_path) if "/." in f"/{n}"]  # no dot-file left

    async def test_a_failed_export_leaves_the_previous_file(
        self, storage: Storage, published: Published, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An export that fails mid-file leaves the earlier file, its manifest entry and
        no temporary file."""
        engine = Engine(storage)
        await export_days(engine, tmp_path, FIRST, FIRST, "csv")
        before = _tree(tmp_path)
        monkeypatch.setattr(feed, "EVENT_FORMATS", _pausing(lambda: None, fail=True))
        with pytest.raises(RuntimeError):
            await export_days(engine, tmp_path, FIRST, FIRST, "csv")
        assert _tree(tmp_path) == before


class TestCommand:
    def test_export_command_writes_the_feed(
        self, storage: Storage, published: Published, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`chanalytics export` against the storage's ClickHouse writes the tenant's files
        and says how much it wrote. (In this process, past `main`'s logging set-up, which
        would bind every logger to this test's captured output.)"""
        settings = load_settings({"CHANALYTICS_CLICKHOUSE_URL": storage.dsn,
                                  "CHANALYTICS_CLICKHOUSE_DATABASE": storage.database})
        out = tmp_path / "out"
        args = _parser().parse_args(["export", "--start", "2026-05-01", "--end", "2026-05-03",
                                     "--format", "csv", "--tenant", "t_alpha", "--out",
                                     str(out)])
        assert _export(settings, args) == 0
        assert set(_tree(out)) == {"manifest.json", "t_alpha/2026-05-01.csv",
                                   "t_alpha/2026-05-02.csv"}
        assert "exported 34 events of 3 days into 2 files" in capsys.readouterr().out

    @pytest.mark.once
    def test_an_embedded_directory_in_use_is_explained(self, tmp_path: Path) -> None:
        """Exporting from a data directory whose chDB another process holds (as `run`
        does) fails with a sentence saying so and what to do instead."""
        data = tmp_path / "data"
        holder = subprocess.Popen(
            [sys.executable, "-c", "import clickhouse_connect, time; c = clickhouse_connect."
             f"get_client(dsn='chdb://{data / 'clickhouse'}'); c.command('SELECT 1'); "
             "print('held', flush=True); time.sleep(120)"],
            stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
            done = subprocess.run(
                [sys.executable, "-m", "chanalytics", "export", "--data-dir", str(data),
                 "--start", "2026-05-01", "--end", "2026-05-01", "--out",
                 str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120)
        finally:
            holder.terminate()
            holder.wait(30)
        assert done.returncode == 1, done.stderr[-3000:]
        assert "one process owns it at a time" in done.stderr
        assert "CHANALYTICS_EXPORT_DIR" in done.stderr
        assert not (tmp_path / "out").exists()
