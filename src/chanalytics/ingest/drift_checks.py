"""Each drift check's result, kept in ClickHouse (`rollup_checks`) so any process can read it.

The check runs in an ingest process (`jobs.py`) and its gauges are that process's own;
the alert evaluator runs in an API process, which on a ClickHouse server is another one.
Every process has ClickHouse (as the alerts' own tables rely on), so the result is a row
there: when the check ran, how many periods disagreed and in which tables, and the first
few disagreements. Rows expire after 30 days (the table's TTL); the newest row is the
verdict, whichever ingest process wrote it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from chanalytics.clickhouse.storage import Storage
from chanalytics.localtime import as_utc, utc_text

TABLE = "rollup_checks"
KEPT_FINDINGS = 20  # disagreements kept per check: enough to start looking
_COLUMNS = ("checked_at", "checker", "tables", "drifting", "drifting_tables", "findings")
_LATEST = ("SELECT checked_at, drifting, drifting_tables, findings "  # noqa: S608 (constant)
           f"FROM {TABLE} ORDER BY checked_at DESC LIMIT 1")
_findings = msgspec.json.Decoder(list[dict[str, Any]])


class Finding(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One period of one table in which it disagreed with the raw table."""

    table: str
    tenant_id: str
    period: str
    raw: int
    derived: int


class DriftCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One completed check: `drifting` periods in `tables` (none: all agreed)."""

    checked_at: datetime
    drifting: int
    tables: list[str]
    findings: list[dict[str, Any]] = msgspec.field(default_factory=list)


async def record_check(storage: Storage, checked_at: datetime, checked: int,
                       findings: Sequence[Finding]) -> None:
    """Keep one check's result: `checked` tables read, `findings` their disagreements."""
    row = {"checked_at": utc_text(checked_at),
           "checker": f"{socket.gethostname()}:{os.getpid()}", "tables": checked,
           "drifting": len(findings),
           "drifting_tables": sorted({f.table for f in findings}),
           "findings": msgspec.json.encode(list(findings[:KEPT_FINDINGS])).decode()}
    await storage.insert_json(TABLE, _COLUMNS, msgspec.json.encode(row))


async def latest_check(storage: Storage) -> DriftCheck | None:
    """The newest check's result, or None before the first."""
    rows = await storage.query(_LATEST)
    if not rows:
        return None
    checked_at, drifting, tables, findings = rows[0]
    return DriftCheck(checked_at=as_utc(checked_at), drifting=int(drifting),
                      tables=list(tables), findings=_findings.decode(findings))
