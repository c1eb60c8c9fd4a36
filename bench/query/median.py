"""The median of several runs of the query bench, per cell, from their console logs.

    .venv/bin/python -m bench.query.median run1.log run2.log run3.log > summary.md

Absolute times on these shared cores move between runs; a target inside the noise is
judged by the median of three runs (one log line per cell: see `cells.py`).
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s+(\w+)\s+(\S+)\s+(30d dates|30d rfc3339|timeRange=30d)\s+(\S+)\s+"
                  r"p50\s+([0-9.]+) p95\s+([0-9.]+) \| raw p50\s+([0-9.]+)")


def main() -> None:
    cells: dict[tuple[str, str, str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for path in sys.argv[1:]:
        for line in Path(path).read_text().splitlines():
            found = LINE.match(line)
            if found:
                tenant, zone, window, endpoint = found.group(1, 2, 3, 4)
                cells[(tenant, zone, window, endpoint)].append(
                    (float(found.group(5)), float(found.group(6)), float(found.group(7))))
    runs = len(sys.argv) - 1
    print(f"Median of {runs} runs per cell (p50, p95 and the raw twin's p50, ms).\n")
    print("| tenant | zone | range | endpoint | p50 | p95 | raw p50 | speed-up | runs |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for (tenant, zone, window, endpoint), values in cells.items():
        p50, p95, raw = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"| {tenant} | {zone} | {window} | {endpoint} | {p50:.1f} | {p95:.1f} | "
              f"{raw:.1f} | {raw / p50:.1f}× | {len(values)} |")  # noqa: RUF001


if __name__ == "__main__":
    main()
