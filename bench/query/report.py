"""bench/results/query.md: the load, the tables, every cell, PostgreSQL, and the targets."""

# The report uses the multiplication sign on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.query.cells import Cell
from bench.query.exports import REPORT, ExportResult
from bench.query.pg import PgResult, pg_version
from bench.query.timing import Timing


@dataclass
class Extras:
    report: Timing
    report_rows: int
    export: ExportResult


def _mem_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def write_report(args: argparse.Namespace, meta: dict[str, Any],
                 stats: dict[str, tuple[int, int]], cells: list[Cell],
                 pg: PgResult | None, extras: Extras | None = None) -> str:
    raw_rows = stats["analytics_events"][0]
    derived = sum(rows for table, (rows, _) in stats.items() if table != "analytics_events")
    lines = [
        f"# Query benchmark — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "`.venv/bin/python -m bench.query " + " ".join(sys.argv[1:]) + "`",
        "",
        "| | |",
        "|---|---|",
        f"| machine | {os.cpu_count()} cores, {_mem_gb():.0f} GB RAM, {platform.machine()}, "
        f"Python {platform.python_version()}; other work shared the machine |",
        "| engine | embedded chDB (`chdb://`), one process |",
        f"| events | {args.events:,} over {args.tenants:,} tenants, 90 days before the load "
        "(+1,000 of the largest tenant in the 2 days after it) |",
        f"| load (INSERT … SELECT FROM numbers, views fill the rollups) | "
        f"{meta['load_s']:,.0f} s — {args.events / meta['load_s']:,.0f} rows/s |",
        f"| parts merged after the load (`OPTIMIZE … FINAL`) | {meta.get('settle_s', 0):.0f} s |",
        f"| derived rows per raw row | {derived / raw_rows:.2f} ({derived:,} rows in "
        f"{len(stats) - 1} tables) |",
        f"| repetitions | {args.reps} after 3 warm-ups; raw twin {args.raw_reps} after 1 |",
        "",
        "| table | rows | parts |",
        "|---|---:|---:|",
        *(f"| {t} | {r:,} | {p} |" for t, (r, p) in stats.items()),
        "",
        "Rollup = the endpoint through the in-process app (`AsyncTestClient`: HTTP, auth, "
        "JSON). Raw = the same request through a twin app whose engine reads only "
        "`analytics_events`; the two answers are compared in full (= column). "
        "Speed-up = raw p50 / rollup p50. Statements = SQL statements one call ran "
        "(concurrently). p50 and p95 are answers computed afresh (nothing kept); kept p95 "
        "= the same request to an app that keeps answers until the tenant's data changes, "
        "as `serve` does (nothing is written during the bench: a repeat is served from "
        "what was kept).",
        "",
    ]
    seen: dict[str, Cell] = {}
    for c in cells:
        seen.setdefault(c.tenant, c)
    for label, first in seen.items():
        n = first.tenant_events
        lines += [f"## {label} tenant `{first.tenant_id}` — {n:,} events "
                  f"({n / args.events * 100:.2f}%)", "",
                  "| zone | range | endpoint | p50 ms | p95 ms | raw p50 ms | speed-up "
                  "| kept p95 ms | statements | = |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for c in cells:
            if c.tenant == label:
                lines.append(
                    f"| {c.zone} | {c.range_name} | {c.endpoint} | {c.rollup.p50:.1f} | "
                    f"{c.rollup.p95:.1f} | {c.raw.p50:.1f} | {c.raw.p50 / c.rollup.p50:.1f}× | "
                    f"{c.kept.p95:.1f} | {c.statements} | {'yes' if c.equal else '**no**'} |")
        lines.append("")
    if extras is not None:
        e = extras.export
        lines += ["## Report builder and export (largest tenant, 30 days, UTC)", "",
                  f"- `POST /query` {REPORT['dimensions']} × {REPORT['metrics']}: "
                  f"{extras.report_rows:,} rows, p50 {extras.report.p50:.0f} ms, p95 "
                  f"{extras.report.p95:.0f} ms (10 calls after 3 warm-ups)",
                  f"- `GET /events?format=csv` through uvicorn, streamed by httpx: "
                  f"{e.rows:,} rows, {e.megabytes:,.0f} MB in {e.seconds:.1f} s = "
                  f"{e.rate:,.0f} rows/s; process RSS +{e.rss_growth_mb:.0f} MB "
                  f"(anonymous +{e.anon_growth_mb:.0f} MB)", ""]
    lines += ["## PostgreSQL", "", *_postgres(pg, cells, args), "", "## Targets", "",
              *targets(cells, pg, extras)]
    return "\n".join(lines) + "\n"


def _utc_30d(cells: list[Cell]) -> dict[str, Cell]:
    return {c.endpoint: c for c in cells if c.tenant == "largest" and c.zone == "UTC"
            and c.range_name == "30d dates"}


def _postgres(pg: PgResult | None, cells: list[Cell], args: argparse.Namespace) -> list[str]:
    if pg is None:
        return ["Skipped (`--skip-pg`)."]
    if pg.skipped or pg.overview is None or pg.daily is None:
        return [f"Skipped: {pg.skipped}"]
    ours = _utc_30d(cells)
    out = [
        f"PostgreSQL {pg_version()} in a throw-away cluster (shared_buffers 2GB, work_mem "
        f"256MB, 2 parallel workers, warm cache), holding the first {pg.rows:,} events by "
        f"generation number (`stream_seq < {args.pg_events}`): a uniform sample, so the "
        f"largest tenant has {pg.tenant_rows:,} rows there. COPY {pg.load_s:.0f} s; index "
        f"`(tenant_id, event_type, occurred_at)` + VACUUM ANALYZE {pg.index_s:.0f} s.",
        "",
        "| query (largest tenant, 30 d, UTC) | PostgreSQL p50 / p95 ms | endpoint p50 / p95 ms "
        "| ratio (p95) |",
        "|---|---:|---:|---:|",
    ]
    for title, timing, endpoint in (
            ("seed overview: COUNT(*) FILTER + COUNT(DISTINCT) FILTER", pg.overview, "overview"),
            ("daily series: the same, GROUP BY day", pg.daily, "messages(day)"),
            ("IRIS §5.2 provider ranking: FILTER counts, AVG, PERCENTILE_CONT(0.95), SUM(cost)",
             pg.providers, "channels")):
        c = ours.get(endpoint)
        if c is not None and timing is not None:
            out.append(f"| {title} | {timing.p50:.1f} / {timing.p95:.1f} | {c.rollup.p50:.1f} / "
                       f"{c.rollup.p95:.1f} ({endpoint}) | {timing.p95 / c.rollup.p95:.1f}× |")
    return out


def targets(cells: list[Cell], pg: PgResult | None, extras: Extras | None = None) -> list[str]:
    largest = [c for c in cells if c.tenant == "largest"]
    out = []
    differing = [c for c in cells if not c.equal]
    verdict = "met" if not differing else "NOT met"
    out.append(f"- every answer equal to the raw table's: **{verdict}**"
               + "".join(f"; differs: {c.tenant} {c.zone} {c.range_name} {c.endpoint}"
                         for c in differing[:5]))
    for limit, zones, ranges, label in (
            (60, ("UTC", "Asia/Kolkata"), ("30d dates",), "storage core: 30-day dates, UTC and "
             "Asia/Kolkata"),
            (50, None, None, "query engine: every zone and range")):
        picked = [c for c in largest if (zones is None or c.zone in zones)
                  and (ranges is None or c.range_name in ranges)]
        if not picked:
            continue
        over = [c for c in picked if c.rollup.p95 > limit]
        worst = max(picked, key=lambda c: c.rollup.p95)
        out.append(f"- p95 ≤ {limit} ms, largest tenant ({label}): "
                   f"**{'met' if not over else 'not met'}** — worst {worst.endpoint} "
                   f"{worst.zone} {worst.range_name} {worst.rollup.p95:.1f} ms"
                   + ("" if not over else "; over: " + ", ".join(
                       f"{c.endpoint} {c.zone} {c.range_name} {c.rollup.p95:.1f}"
                       for c in over[:8])))
    mix = [c for c in largest if c.endpoint not in ("messages(hour)", "suppressions")]
    if mix:
        for what, timing_of in (("computed afresh", lambda c: c.rollup),
                                ("kept answers", lambda c: c.kept)):
            over = [c for c in mix if timing_of(c).p95 > 100]
            worst = max(mix, key=lambda c: timing_of(c).p95)
            out.append(f"- p95 ≤ 100 ms, largest tenant, the dashboard's ten endpoints, "
                       f"{what}: **{'met' if not over else 'not met'}** — worst "
                       f"{worst.endpoint} {worst.zone} {worst.range_name} "
                       f"{timing_of(worst).p95:.1f} ms; {len(over)} of {len(mix)} cells over")
    base = _utc_30d(cells)
    ratios = [(c, c.rollup.p95 / base[c.endpoint].rollup.p95) for c in largest
              if c.endpoint in base]
    if ratios:
        worst_c, worst_r = max(ratios, key=lambda pair: pair[1])
        out.append(f"- no cell over 1.5× its UTC date-range cell (p95): "
                   f"**{'met' if worst_r <= 1.5 else 'not met'}** — highest {worst_r:.2f}× "
                   f"({worst_c.endpoint} {worst_c.zone} {worst_c.range_name})")
    if extras is not None:
        e = extras.export
        out.append(f"- POST /query, 3 dimensions × 5 metrics, p95 ≤ 1 s: "
                   f"**{'met' if extras.report.p95 <= 1000 else 'not met'}** — "
                   f"{extras.report.p95:.0f} ms")
        ok = e.rate >= 100_000 and e.rss_growth_mb <= 100
        out.append(f"- CSV export ≥ 100k rows/s with RSS growth ≤ 100 MB: "
                   f"**{'met' if ok else 'not met'}** — {e.rate:,.0f} rows/s, "
                   f"+{e.rss_growth_mb:.0f} MB")
    if pg and pg.overview and pg.daily:
        for timing, endpoint in ((pg.overview, "overview"), (pg.daily, "messages(day)")):
            c = base.get(endpoint)
            if c is not None:
                ratio = timing.p95 / c.rollup.p95
                out.append(f"- ≥ 10× PostgreSQL on {endpoint} (p95): "
                           f"**{'met' if ratio >= 10 else 'not met'}** — {ratio:.1f}×")
    return out
