"""The markdown report: a table per mode, the targets, how the run was made."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.mix.cells import CellResult
from bench.mix.throughput import Rate
from bench.mix.trickle import Counted

TARGETS = {"idle": 3.0, "trickle": 2.0}
THROUGHPUT_TARGET = 2.0
X = "\N{MULTIPLICATION SIGN}"


@dataclass
class Mode:
    name: str  # "idle" / "trickle"
    results: list[CellResult]
    load: list[tuple[float, float, float]] = field(default_factory=list)  # getloadavg()s
    rates: dict[str, Rate] | None = None
    counted: Counted | None = None
    seconds: float = 0.0


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else 0.0


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def cells_table(mode: Mode) -> list[str]:
    lines = ["| cell | before p50 | before p95 | after p50 | after p95 | speed-up (p50) | "
             "answers |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in mode.results:
        b, a = r.timings["before"], r.timings["after"]
        answers = (f"equal ({r.compared})" if not r.mismatches else
                   f"**DIFFER** {r.mismatches}/{r.compared}: `{r.first_diff}`")
        lines.append(f"| {r.cell.name} | {b.p50:.1f} | {b.p95:.1f} | {a.p50:.1f} | "
                     f"{a.p95:.1f} | {r.speedup:.2f}{X} | {answers} |")
    return lines


def mode_section(mode: Mode, reps: int, trickle: float, concurrency: int) -> list[str]:
    title = "Idle" if mode.name == "idle" else f"While a trickle of {trickle:g} events/s arrives"
    load = " → ".join(f"{m1:.1f}/{m5:.1f}/{m15:.1f}" for m1, m5, m15 in mode.load)
    lines = [f"## {title}", "", f"{reps} timed requests per version per cell, alternating; "
             f"ms, client-side over HTTP. {mode.seconds:.0f} s. Load average (1/5/15 min) "
             f"{load}.", "", *cells_table(mode), ""]
    speedups = [r.speedup for r in mode.results]
    mean = geomean(speedups)
    slower = [f"{r.cell.name} ({r.speedup:.2f}{X})" for r in mode.results if r.speedup < 1]
    differ = sum(1 for r in mode.results if r.mismatches)
    lines += [f"- Geometric mean of the speed-ups: **{mean:.2f}{X}** (target ≥ "
              f"{TARGETS[mode.name]:g}{X}: {verdict(mean >= TARGETS[mode.name])})",
              f"- Cells slower than before: {len(slower)}"
              + (f" — {', '.join(slower)}" if slower else "") + f" ({verdict(not slower)})",
              f"- Cells whose answers differ: {differ}" + (" (in this mode: compared once "
              "after the trickle stopped and every event was stored)"
              if mode.name == "trickle" else "")]
    if mode.rates:
        lines += rates_section(mode.rates, concurrency)
    if mode.counted:
        lines += counted_section(mode.counted)
    return [*lines, ""]


def rates_section(rates: dict[str, Rate], concurrency: int) -> list[str]:
    b, a = rates["before"], rates["after"]
    ratio = a.per_second / b.per_second if b.per_second else 0.0
    lines = ["", f"Throughput of the mix (every cell in turn) at concurrency {concurrency}:", "",
             "| version | requests/s | p50 ms | p95 ms | errors | seconds |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {r.per_second:.1f} | {r.latency.p50:.1f} | {r.latency.p95:.1f} | "
              f"{r.errors} | {r.seconds:.0f} |" for name, r in rates.items()]
    lines += [f"- {name}'s first error: `{r.first_error}`" for name, r in rates.items()
              if r.first_error]
    return [*lines, "", f"- after / before: **{ratio:.2f}{X}** (target ≥ {THROUGHPUT_TARGET:g}{X}: "
                        f"{verdict(ratio >= THROUGHPUT_TARGET)})"]


def counted_section(c: Counted) -> list[str]:
    total = sum(c.published.values())
    kinds = ", ".join(f"{s} {n}" for s, n in Counter(c.published).most_common())
    stored = "; ".join(f"`{db}` +{added} rows" for db, (added, _) in c.rows.items())
    lines = ["", f"Trickle: {total} events published ({kinds}); stored: {stored}.",
             f"- Every new event counted: {c.checks} numbers (per version and window: "
             f"messages sent/delivered/bounced/failed, workflow runs, enrollments, costed "
             f"messages) each grew by exactly the events published — "
             f"{verdict(not c.misses and all(a == p for a, p in c.rows.values()))}"
             + ("" if c.misses else " at the first asking after ingest acknowledged every event"
                if c.askings == 1 else f" only at asking {c.askings}, {c.seconds:.1f} s "
                "after the first")]
    lines += [f"  - {miss}" for miss in c.misses[:20]]
    if c.askings > 1 and not c.misses:
        lines += ["  - not yet at the first asking: " + "; ".join(c.first_misses[:12])]
    return lines


def write_report(command: str, versions: list[str], layout: str, data: str,
                 modes: list[Mode], reps: int, trickle: float, concurrency: int) -> str:
    lines = [f"# A/B of the dashboard mix (`python -m bench.mix`), "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"- Command: `{command}`", *[f"- {v}" for v in versions], f"- Store: {layout}",
             f"- Data: {data}", f"- Machine: {os.cpu_count()} cores (shared); load averages "
             "per mode below", "- Speed-up = before's median / after's median (above 1: "
             "after is faster).", ""]
    for mode in modes:
        lines += mode_section(mode, reps, trickle, concurrency)
    return "\n".join(lines).rstrip() + "\n"
