"""Saved reports, their runs and their files, in ClickHouse (`report_definitions`,
`report_runs`, `report_files`).

ClickHouse rather than NATS KV or a directory: every API process holds a ClickHouse
client (`serve` may run without NATS), so every process reads the same definitions, run
history and files, and they survive restarts. Definitions and runs are versioned rows of
ReplacingMergeTrees read with `FINAL`: each write is a whole new version, the latest wins,
and a delete is a version marked `deleted`. A file is stored as chunks of about 1 MB
(whole lines, so each chunk is valid UTF-8), removed by the table's TTL after 30 days.

A read model below the engine, like `budgets.py`: it reads and writes storage itself,
with every value bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec

from chanalytics.clickhouse.storage import Storage
from chanalytics.localtime import as_utc
from chanalytics.query.sql import Params, Select
from chanalytics.reports.definition import (
    ReportDefinitionBody,
    decode_definition,
    encode_definition,
)

CHUNK = 1 << 20  # bytes of a file per stored row, at least (whole lines)
RunStatus = Literal["running", "succeeded", "failed"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class DeliveryRecord(msgspec.Struct, kw_only=True, rename="camel"):
    """One delivery of a run: its id (the same on every try and every re-run), its state."""

    channel: str
    delivery_id: str
    status: DeliveryStatus = "pending"
    tries: int = 0
    last_error: str | None = None


class RunRecord(msgspec.Struct, kw_only=True):
    tenant_id: str
    report_id: str
    run_id: str
    scheduled: bool  # a schedule's tick, not a "run now"
    scheduled_for: datetime
    started_at: datetime
    status: RunStatus = "running"
    finished_at: datetime | None = None
    rows: int = 0
    bytes: int = 0
    file_id: str = ""  # set once the file is stored
    error: str = ""
    deliveries: list[DeliveryRecord] = msgspec.field(default_factory=list)


class StoredReport(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    report_id: str
    body: ReportDefinitionBody
    created_at: datetime
    updated_at: datetime


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _definitions(params: Params, tenant_id: str | None = None,
                 report_id: str | None = None) -> str:
    where = ["NOT deleted"]
    if tenant_id is not None:
        where.append(f"tenant_id = {params.bind(tenant_id, 'String')}")
    if report_id is not None:
        where.append(f"report_id = {params.bind(report_id, 'String')}")
    return Select(columns=["tenant_id", "report_id", "definition", "created_at", "updated_at"],
                  source="report_definitions FINAL", where=where,
                  order_by="created_at, report_id").sql()


def _runs(params: Params, *, tenant_id: str | None = None, report_id: str | None = None,
          run_id: str | None = None, where: tuple[str, ...] = (), order_by: str = "",
          limit: int | None = None) -> str:
    conditions = list(where)
    for column, value in (("tenant_id", tenant_id), ("report_id", report_id),
                          ("run_id", run_id)):
        if value is not None:
            conditions.append(f"{column} = {params.bind(value, 'String')}")
    return Select(columns=list(_RUN_COLUMNS), source="report_runs FINAL", where=conditions,
                  order_by=order_by,
                  limit="" if limit is None else params.bind(limit, "UInt32")).sql()


_WRITE_DEFINITION = (
    "INSERT INTO report_definitions (tenant_id, report_id, definition, created_at, "
    "updated_at, deleted) SELECT {tenant:String}, {report:String}, {definition:String}, "
    "fromUnixTimestamp64Micro({created:Int64}, 'UTC'), "
    "fromUnixTimestamp64Micro({updated:Int64}, 'UTC'), {deleted:Bool}")
_RUN_COLUMNS = ("tenant_id", "report_id", "run_id", "scheduled", "scheduled_for", "started_at",
                "status", "finished_at", "rows", "bytes", "file_id", "error", "deliveries")
_WRITE_RUN = (
    "INSERT INTO report_runs (tenant_id, report_id, run_id, scheduled, scheduled_for, "
    "started_at, status, finished_at, rows, bytes, file_id, error, deliveries, version) "
    "SELECT {tenant:String}, "
    "{report:String}, {run:String}, {scheduled:Bool}, "
    "fromUnixTimestamp64Milli({scheduled_for:Int64}, 'UTC'), "
    "fromUnixTimestamp64Milli({started:Int64}, 'UTC'), {status:String}, "
    "if({finished:Int64} < 0, NULL, fromUnixTimestamp64Milli({finished:Int64}, 'UTC')), "
    "{rows:UInt64}, {bytes:UInt64}, {file:String}, {error:String}, {deliveries:String}, "
    "{version:UInt64}")
_DELIVERIES = msgspec.json.Decoder(list[DeliveryRecord])


class ReportStore:
    """Every tenant's reports, runs and files, shared by all API processes."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._last = 0  # µs of this process's last version: strictly increasing

    def _version(self) -> int:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return self._last

    # -- definitions ---------------------------------------------------------------------

    async def put(self, tenant_id: str, report_id: str, body: ReportDefinitionBody,
                  created_at: datetime | None = None) -> StoredReport:
        """Store a new version; `created_at` is kept from the first version."""
        version = self._version()
        created = version if created_at is None else int(created_at.timestamp() * 1e6)
        await self.storage.command(_WRITE_DEFINITION, {
            "tenant": tenant_id, "report": report_id, "definition": encode_definition(body),
            "created": created, "updated": version, "deleted": False})
        return StoredReport(tenant_id=tenant_id, report_id=report_id, body=body,
                            created_at=datetime.fromtimestamp(created / 1e6, UTC),
                            updated_at=datetime.fromtimestamp(version / 1e6, UTC))

    async def delete(self, tenant_id: str, report_id: str) -> None:
        version = self._version()
        await self.storage.command(_WRITE_DEFINITION, {
            "tenant": tenant_id, "report": report_id, "definition": "", "created": version,
            "updated": version, "deleted": True})

    async def get(self, tenant_id: str, report_id: str) -> StoredReport | None:
        params = Params()
        rows = await self.storage.query(_definitions(params, tenant_id, report_id),
                                        params.values)
        return _report(rows[0]) if rows else None

    async def of_tenant(self, tenant_id: str) -> list[StoredReport]:
        """The tenant's reports, oldest first."""
        params = Params()
        rows = await self.storage.query(_definitions(params, tenant_id), params.values)
        return [_report(row) for row in rows]

    async def every_report(self) -> list[StoredReport]:
        """Every tenant's reports: what the scheduler checks for due ticks."""
        params = Params()
        return [_report(row) for row in await self.storage.query(_definitions(params))]

    # -- runs ------------------------------------------------------------------------------

    async def write_run(self, run: RunRecord) -> None:
        """Store the run's current state as its newest version."""
        await self.storage.command(_WRITE_RUN, {
            "tenant": run.tenant_id, "report": run.report_id, "run": run.run_id,
            "scheduled": run.scheduled, "scheduled_for": _ms(run.scheduled_for),
            "started": _ms(run.started_at), "status": run.status,
            "finished": -1 if run.finished_at is None else _ms(run.finished_at),
            "rows": run.rows, "bytes": run.bytes, "file": run.file_id, "error": run.error,
            "deliveries": msgspec.json.encode(run.deliveries).decode(),
            "version": self._version()})

    async def run(self, tenant_id: str, report_id: str, run_id: str) -> RunRecord | None:
        params = Params()
        sql = _runs(params, tenant_id=tenant_id, report_id=report_id, run_id=run_id)
        rows = await self.storage.query(sql, params.values)
        return _run(rows[0]) if rows else None

    async def runs(self, tenant_id: str, report_id: str, limit: int = 100) -> list[RunRecord]:
        """A report's runs, newest first."""
        params = Params()
        sql = _runs(params, tenant_id=tenant_id, report_id=report_id,
                    order_by="scheduled_for DESC, started_at DESC, run_id", limit=limit)
        return [_run(row) for row in await self.storage.query(sql, params.values)]

    async def unfinished_runs(self) -> list[RunRecord]:
        """Every tenant's runs still `running`: asked for ("run now"), or left by a
        scheduler that stopped mid-way."""
        params = Params()
        sql = _runs(params, where=("status = 'running'",), order_by="started_at, run_id")
        return [_run(row) for row in await self.storage.query(sql, params.values)]

    async def last_ticks(self, tenant_id: str | None = None) -> dict[tuple[str, str], datetime]:
        """(tenant, report) → the latest schedule tick claimed (of every tenant, or one)."""
        params = Params()
        where = ["scheduled"]
        if tenant_id is not None:
            where.append(f"tenant_id = {params.bind(tenant_id, 'String')}")
        sql = Select(columns=["tenant_id", "report_id", "max(scheduled_for)"],
                     source="report_runs FINAL", where=where,
                     group_by="tenant_id, report_id").sql()
        rows = await self.storage.query(sql, params.values)
        return {(str(t), str(r)): as_utc(at) for t, r, at in rows}

    # -- files -------------------------------------------------------------------------------

    async def store_file(self, tenant_id: str, file_id: str, path: Path) -> None:
        """Store the file at `path` in chunks of whole lines, one chunk in memory at once."""
        with path.open("rb") as source:
            number = 0
            while True:
                chunk = await asyncio.to_thread(_next_chunk, source)
                if not chunk and number > 0:
                    return
                row = {"tenant_id": tenant_id, "file_id": file_id, "chunk": number,
                       "data": chunk.decode(), "stored_at": int(time.time())}
                await self.storage.insert_json(
                    "report_files", list(row), msgspec.json.encode(row) + b"\n")
                number += 1
                if not chunk:
                    return

    async def file_chunks(self, tenant_id: str, file_id: str) -> AsyncIterator[bytes]:
        """A stored file's bytes, chunk by chunk as ClickHouse sends them."""
        params: dict[str, Any] = {"tenant": tenant_id, "file": file_id}
        async for block in self.storage.stream(
                "SELECT data FROM report_files FINAL WHERE tenant_id = {tenant:String} "
                "AND file_id = {file:String} ORDER BY chunk", params, ahead=2):
            for (data,) in block:
                yield data.encode() if isinstance(data, str) else bytes(data)

    async def has_file(self, tenant_id: str, file_id: str) -> bool:
        rows = await self.storage.query(
            "SELECT count() FROM report_files WHERE tenant_id = {tenant:String} "
            "AND file_id = {file:String}", {"tenant": tenant_id, "file": file_id})
        return bool(rows and rows[0][0])


def _next_chunk(source: BinaryIO) -> bytes:
    chunk = source.read(CHUNK)
    if chunk and not chunk.endswith(b"\n"):
        chunk += source.readline()  # to the end of the line: whole UTF-8 characters
    return chunk


def _report(row: tuple[Any, ...]) -> StoredReport:
    return StoredReport(tenant_id=row[0], report_id=row[1], body=decode_definition(row[2]),
                        created_at=as_utc(row[3]), updated_at=as_utc(row[4]))


def _run(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        tenant_id=row[0], report_id=row[1], run_id=row[2], scheduled=bool(row[3]),
        scheduled_for=as_utc(row[4]), started_at=as_utc(row[5]), status=row[6],
        finished_at=None if row[7] is None else as_utc(row[7]), rows=int(row[8]),
        bytes=int(row[9]), file_id=row[10], error=row[11],
        deliveries=_DELIVERIES.decode(row[12]) if row[12] else [])
