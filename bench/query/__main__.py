"""Query benchmark: every endpoint from the rollups vs the same answers from the raw table.

    .venv/bin/python -m bench.query --events 100000000 --tenants 1000 \
        --data-dir /tmp/qbench [--pg-events 20000000] [--skip-pg] [--reps 30]

1. `load`: N synthetic events over T tenants (`data`) into the embedded engine with
   `INSERT … SELECT FROM numbers()`, so the views fill every rollup as ingest does; a
   data dir already holding them is reused.
2. `cells`: for the largest and the median tenant, every endpoint in each zone and range
   through the real app (`AsyncTestClient`, bearer token, JSON), and the same request
   through a twin app whose engine may read only the raw table: timings of both, and the
   two answers must be equal.
3. `pg`: PostgreSQL answering the seed's overview and a daily series on a sample.
4. `report`: bench/results/query.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bench.query.cells import ZONES, run_cells
from bench.query.exports import time_export, time_report
from bench.query.load import ensure_loaded, table_stats
from bench.query.pg import run_postgres
from bench.query.report import Extras, write_report
from chanalytics.logs import configure_logging

RESULTS = Path(__file__).parents[1] / "results" / "query.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--pg-events", type=int, default=20_000_000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--raw-reps", type=int, default=5)
    parser.add_argument("--zones", default=",".join(ZONES))
    parser.add_argument("--tenants-timed", default="largest,median")
    parser.add_argument("--skip-exports", action="store_true")
    parser.add_argument("--endpoints", default="",
                        help="comma-separated cell names to time (default: all)")
    parser.add_argument("--load-only", action="store_true", help="load, print, stop")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    configure_logging("warning", "console")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    storage, meta = ensure_loaded(args.data_dir, args.events, args.tenants)
    stats = table_stats(storage)
    for table, (rows, parts) in stats.items():
        print(f"  {table:30} {rows:>14,} rows  {parts:>4} parts")
    if args.load_only:
        storage.close()
        return
    cells = asyncio.run(run_cells(storage, meta, args))
    extras = None
    if not args.skip_exports:
        report_timing, report_rows = asyncio.run(time_report(storage, meta, 10))
        print(f"  POST /query 3 dims x 5 metrics: p50 {report_timing.p50:.0f} p95 "
              f"{report_timing.p95:.0f} ms, {report_rows} rows", flush=True)
        cold = asyncio.run(time_export(storage, meta))
        print(f"  CSV export (cold): {cold.rate:,.0f} rows/s, RSS +{cold.rss_growth_mb:.0f} MB",
              flush=True)
        export = asyncio.run(time_export(storage, meta))  # warm, as every other cell
        print(f"  CSV export: {export.rows:,} rows in {export.seconds:.1f} s = "
              f"{export.rate:,.0f} rows/s, RSS +{export.rss_growth_mb:.0f} MB", flush=True)
        extras = Extras(report_timing, report_rows, export)
    pg = None if args.skip_pg else run_postgres(storage, args, meta)
    storage.close()
    text = write_report(args, meta, stats, cells, pg, extras)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
