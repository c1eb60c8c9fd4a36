"""`chanalytics export`: the stored events of a range of UTC days as the warehouse feed's
files (`warehouse/feed.py`), from the embedded engine or a ClickHouse server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from chanalytics.clickhouse.storage import Storage
from chanalytics.query.engine import Engine
from chanalytics.warehouse.feed import FORMATS, ExportError, days_between, export_days

MAX_TENANT = 128  # as an event's tenantId


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("export", help="write the stored events as files, one per tenant "
                         "and UTC day, with manifest.json (a warehouse feed)")
    cmd.add_argument("--data-dir", help="overrides CHANALYTICS_DATA_DIR")
    cmd.add_argument("--start", required=True, type=utc_day, metavar="YYYY-MM-DD",
                     help="the first UTC day")
    cmd.add_argument("--end", required=True, type=utc_day, metavar="YYYY-MM-DD",
                     help="the last UTC day (included); a day already over")
    cmd.add_argument("--tenant", metavar="ID", help="this tenant only (default: every "
                     "tenant with events)")
    cmd.add_argument("--format", choices=FORMATS, default="ndjson", dest="fmt",
                     help="file format (default ndjson)")
    cmd.add_argument("--out", required=True, type=Path, metavar="DIR",
                     help="the export directory (made if missing)")


def utc_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def problem(args: argparse.Namespace, today: date) -> str | None:
    """Why the arguments cannot be exported, or None. Only days already over (UTC) are
    exported: a day still filling would give another file on every run."""
    if args.end < args.start:
        return f"--end {args.end} is before --start {args.start}"
    if args.end >= today:
        return (f"--end {args.end} is not over yet (UTC): export days up to "
                f"{date.fromordinal(today.toordinal() - 1)}")
    if args.tenant is not None and not 0 < len(args.tenant) <= MAX_TENANT:
        return f"--tenant must be 1-{MAX_TENANT} characters"
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} exists and is not a directory"
    return None


def run_export(storage: Storage, args: argparse.Namespace) -> int:
    """Export the days and say what was written."""
    try:
        written = asyncio.run(export_days(Engine(storage), args.out, args.start, args.end,
                                          args.fmt, args.tenant))
    except (ExportError, OSError) as exc:
        print(f"chanalytics: export failed: {exc}", file=sys.stderr)
        return 1
    days = len(days_between(args.start, args.end))
    print(f"exported {sum(e.rows for e in written):,} events of {days} day"
          f"{'s' if days != 1 else ''} into {len(written)} file"
          f"{'s' if len(written) != 1 else ''} under {args.out} (manifest.json)")
    return 0
