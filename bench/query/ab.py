"""Two versions of the service side by side: the median per cell of each one's runs.

    .venv/bin/python -m bench.query.ab before-1.log before-2.log ... -- after-1.log ...

Run the versions alternately on the same data (so that both see the same machine) and
compare their medians in one table; absolute times on shared cores move between
sessions, the ratio in one session does not.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from bench.query.median import LINE

STATEMENTS = re.compile(r"\| (\d+) stmts")


def medians(paths: list[str]) -> dict[tuple[str, ...], tuple[float, float, int]]:
    """Per cell: the median p50 and p95 (ms) over the runs, and its statement count."""
    cells: dict[tuple[str, ...], list[tuple[float, float, int]]] = defaultdict(list)
    for path in paths:
        for line in Path(path).read_text().splitlines():
            found = LINE.match(line)
            if found:
                counted = STATEMENTS.search(line)
                stmts = int(counted.group(1)) if counted else 0
                cells[found.group(1, 2, 3, 4)].append(
                    (float(found.group(5)), float(found.group(6)), stmts))
    return {cell: (statistics.median(v[0] for v in runs), statistics.median(v[1] for v in runs),
                   runs[0][2]) for cell, runs in cells.items()}


def main() -> None:
    split = sys.argv.index("--")
    before, after = medians(sys.argv[1:split]), medians(sys.argv[split + 1:])
    print(f"Medians of {split - 1} runs before and {len(sys.argv) - split - 1} after, "
          "per cell (ms).\n")
    print("| tenant | zone | range | endpoint | stmts | p50 before | p50 after | p95 before "
          "| p95 after | after / before (p95) |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|")
    for cell, (p50, p95, stmts) in before.items():
        if cell not in after:
            continue
        a50, a95, a_stmts = after[cell]
        print(f"| {' | '.join(cell)} | {stmts} → {a_stmts} | {p50:.1f} | {a50:.1f} | "
              f"{p95:.1f} | {a95:.1f} | {a95 / p95:.2f} |")


if __name__ == "__main__":
    main()
