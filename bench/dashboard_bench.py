"""The dashboard's first load, measured in the browser: how long until the overview page
and all its API calls have arrived, on the demo's data.

    PYTHONPATH=src:. .venv/bin/python bench/dashboard_bench.py [--loads 7] [--out FILE]

Starts `chanalytics run --demo` (embedded chDB, the bundled nats-server, 30 days of demo
history) in a data dir of its own, waits until the demo's history is stored, then opens
`/` in Debian's Chromium (Playwright) `--loads` times, each in a fresh browser context
(no HTTP cache, signed in through session storage as the page itself does). Per load,
from the Navigation and Resource Timing entries: the document's `responseEnd`,
`domContentLoaded`, and the `responseEnd` of the last `/api/` request (all the overview's
calls, the live strip's `/realtime` included; the `/live` stream itself never ends and is
left out). The first load is also the first read of every answer (no kept answers yet);
the demo keeps publishing, so later loads find some answers kept and some not. The
results are appended to `--out` (bench/results/dashboard.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procs import stop
from chanalytics.nats.server import free_port

RESULTS = Path(__file__).parent / "results" / "dashboard.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMINGS_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const api = performance.getEntriesByType('resource')
    .filter(r => r.name.includes('/api/') && !r.name.includes('/live'));
  return {document: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd, api: api.map(r => [new URL(r.name).pathname, r.responseEnd])};
}"""


def start_run(work: Path) -> tuple[subprocess.Popen[str], str, str]:
    """`run --demo`; its URL and token, once the demo's history is stored."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANALYTICS_")}
    env |= {"CHANALYTICS_DATA_DIR": str(work / "data"), "CHANALYTICS_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chanalytics", "run", "--demo", "--port", str(port),
         "--nats-port", str(free_port())], env=env, stdout=subprocess.PIPE,
        stderr=(work / "run.log").open("w"), text=True)
    assert proc.stdout is not None
    token = ""
    for line in proc.stdout:
        name, _, value = line.strip().partition(":")
        if name == "token":
            token = value.strip()
        if line.startswith("demo history: done"):
            return proc, f"http://127.0.0.1:{port}", token
    raise SystemExit(f"`run --demo` ended before its history was stored; see {work}/run.log")


def measure(url: str, token: str, loads: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(loads):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(
                    f"sessionStorage.setItem('chanalytics.token', {token!r});")
                page = context.new_page()
                page.goto(f"{url}/", wait_until="load")
                page.wait_for_function(
                    "() => performance.getEntriesByType('resource').filter("
                    "r => r.name.includes('/api/v1/analytics/overview')).length > 0",
                    timeout=60_000)
                time.sleep(1.5)  # the strip's and the series' calls after the first
                timings = page.evaluate(TIMINGS_JS)
                timings["apiEnd"] = max((end for _, end in timings["api"]), default=None)
                out.append(timings)
                context.close()
        finally:
            browser.close()
    return out


def report(args: argparse.Namespace, loads: list[dict[str, Any]], load0: tuple[float, ...],
           load1: tuple[float, ...]) -> str:
    ends = [t["apiEnd"] for t in loads]
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — `bench/dashboard_bench.py "
             f"--loads {args.loads}`", "",
             f"- load average (1 min) at the start / end: {load0[0]:.2f} / {load1[0]:.2f}",
             f"- API calls of a load: {', '.join(sorted({p for p, _ in loads[0]['api']}))}", "",
             "| load | document ms | DOMContentLoaded ms | last API response ms | API calls |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {i + 1} | {t['document']:.0f} | {t['domContentLoaded']:.0f} | "
              f"{t['apiEnd']:.0f} | {len(t['api'])} |" for i, t in enumerate(loads)]
    lines += ["", f"First load (nothing kept yet): **{ends[0]:.0f} ms** until the last API "
              f"response; all loads: median {statistics.median(ends):.0f} ms, max "
              f"{max(ends):.0f} ms (target ≤ 1,000 ms).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, url, token = start_run(work)
        try:
            load0 = os.getloadavg()
            loads = measure(url, token, args.loads)
            load1 = os.getloadavg()
        finally:
            stop(proc)
    text = report(args, loads, load0, load1)
    if not args.out.exists():
        args.out.write_text("# The dashboard's first load (`bench/dashboard_bench.py`)\n\n")
    with args.out.open("a") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
