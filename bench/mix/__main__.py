"""`python -m bench.mix`: see the package docstring (`--help`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench.mix as package
from bench.mix.cells import (
    ENDPOINTS,
    Clients,
    all_cells,
    common_span,
    compare_once,
    time_cells,
    windows,
)
from bench.mix.data import (
    TENANTS,
    Store,
    count_rows,
    ensure_loaded,
    plan_stores,
    record_trickle,
    start_ingest,
    wait_rows,
)
from bench.mix.procs import TOKEN, Processes, Version
from bench.mix.report import Mode, write_report
from bench.mix.throughput import measure
from bench.mix.trickle import Trickle, counted, drained, snapshot
from chanalytics.config import Settings
from chanalytics.nats.server import LocalNatsServer, free_port

RESULTS = Path(__file__).parents[1] / "results" / "mix.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mix", description=package.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="the checkout before")
    parser.add_argument("--after", type=Path, required=True, help="the checkout after")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/bench-mix"))
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--days", type=float, default=35)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tenant", default=TENANTS[0], choices=TENANTS,
                        help="the asked tenant (default: the busiest, retail)")
    parser.add_argument("--reps", type=int, default=30, help="timed requests per cell/version")
    parser.add_argument("--warmups", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--trickle", type=float, default=4.0,
                        help="events/s in the trickle mode; 0: idle mode only")
    parser.add_argument("--load-seconds", type=float, default=20.0,
                        help="seconds per version of the load; 0: none")
    parser.add_argument("--concurrency", type=int, default=16, help="of the load")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def progress(mode: str, reps: int) -> Any:
    started = time.monotonic()

    def show(done: int) -> None:
        if done > 0 and (done % 5 == 0 or done == reps):
            print(f"  {mode}: round {done}/{reps} ({time.monotonic() - started:.0f} s)",
                  flush=True)
    return show


async def trickle_mode(args: argparse.Namespace, procs: Processes, ch_url: str,
                       nats_url: str, stores: list[Store], end: datetime, clients: Clients,
                       ports: dict[str, int]) -> Mode:
    """The cells (and the load) while the trickle runs; then the count, the answers."""
    cells = all_cells(end, tuple(args.endpoints.split(",")))
    mode = Mode("trickle", [], [os.getloadavg()])
    started = time.monotonic()
    # The after version's ingest on the run's NATS, whose versions its serve reads; an
    # older version's on a server of its own (releases' insert-lease buckets differ).
    urls = {s.database: nats_url for s in stores}
    own: list[LocalNatsServer] = []
    for store in stores:
        if store.loader.name != "after":
            own.append(LocalNatsServer(procs.run_dir / f"nats-{store.database}"))
            own[-1].start()
            urls[store.database] = own[-1].url
    ingests = [start_ingest(procs, s, ch_url, urls[s.database]) for s in stores]
    try:
        rows = {s.database: count_rows(ch_url, s.database, args.tenant) for s in stores}
        numbers = await snapshot(clients, windows(end))
        trickle = Trickle(sorted(set(urls.values())), args.tenant, args.trickle,
                          common_span(end))
        stop = asyncio.Event()
        task = asyncio.create_task(trickle.run(stop))
        mode.results = await time_cells(clients, cells, args.reps, args.warmups, False,
                                        progress("trickle", args.reps))
        if args.load_seconds:
            mode.rates = await measure(ports, TOKEN, cells, args.load_seconds, args.concurrency)
        stop.set()
        await task
        total = sum(trickle.published.values())
        if not all([await drained(urls[s.database], Settings().stream_name, [s.database])
                    for s in stores]):
            print("  the ingest did not acknowledge every trickled event within 120 s")
        added = {db: (wait_rows(ch_url, db, before + total, 60, args.tenant) - before, total)
                 for db, before in rows.items()}
        mode.counted = await counted(clients, windows(end), numbers, trickle.published, added)
        await compare_once(clients, mode.results)
        record_trickle(args.data_dir, stores, total)
    finally:
        for proc in ingests:
            procs.stop(proc)
        for server in own:
            server.stop()
    mode.load.append(os.getloadavg())
    mode.seconds = time.monotonic() - started
    return mode


async def run_modes(args: argparse.Namespace, procs: Processes, ch_url: str, nats_url: str,
                    stores: list[Store], end: datetime, ports: dict[str, int]) -> list[Mode]:
    clients = Clients(ports, TOKEN)
    cells = all_cells(end, tuple(args.endpoints.split(",")))
    try:
        idle = Mode("idle", [], [os.getloadavg()])
        started = time.monotonic()
        idle.results = await time_cells(clients, cells, args.reps, args.warmups, True,
                                        progress("idle", args.reps))
        if args.load_seconds:
            idle.rates = await measure(ports, TOKEN, cells, args.load_seconds, args.concurrency)
        idle.load.append(os.getloadavg())
        idle.seconds = time.monotonic() - started
        modes = [idle]
        if args.trickle > 0:
            modes.append(await trickle_mode(args, procs, ch_url, nats_url, stores, end, clients,
                                            ports))
        return modes
    finally:
        await clients.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    versions = [Version("before", args.before.resolve()), Version("after", args.after.resolve())]
    stores = plan_stores(*versions)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = args.data_dir / f"logs-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    run_dir.mkdir()
    params = {"events": args.events, "days": args.days, "seed": args.seed}
    # One NATS server for the run: the trickle's ingest publishes to it, and a version
    # whose `serve` keeps answers reads the tenants' versions from it (others ignore it).
    nats_server = LocalNatsServer(run_dir / "nats")
    nats_server.start()
    with Processes(run_dir) as procs:
        ch_port = free_port()
        ch_url = f"http://127.0.0.1:{ch_port}"
        procs.chanalytics("clickhouse-server", versions[1], [
            "clickhouse-server", "--data-dir", str(args.data_dir.resolve()),
            "--http-port", str(ch_port), "--tcp-port", str(free_port())],
            health=f"{ch_url}/ping")
        meta = ensure_loaded(procs, ch_url, stores, args.data_dir, params)
        ports: dict[str, int] = {}
        for version in versions:
            store = next(s for s in stores if version.name in s.readers)
            ports[version.name] = free_port()
            procs.chanalytics(f"serve-{version.name}", version, ["serve"],
                              health=f"http://127.0.0.1:{ports[version.name]}/health/ready",
                              clickhouse_url=ch_url, clickhouse_database=store.database,
                              api_keys=f"{TOKEN}={args.tenant}", nats_url=nats_server.url,
                              http_port=str(ports[version.name]))
        end = datetime.fromisoformat(meta["end"])
        rows = {s.database: count_rows(ch_url, s.database) for s in stores}
        print(f"serving {', '.join(f'{k} on :{v}' for k, v in ports.items())}; "
              f"{', '.join(f'{db}: {n:,} rows' for db, n in rows.items())}", flush=True)
        try:
            modes = asyncio.run(run_modes(args, procs, ch_url, nats_server.url, stores, end,
                                          ports))
        finally:
            procs.__exit__(None, None, None)  # the processes before their NATS server
            nats_server.stop()
    layout = (f"one database, `{stores[0].database}`, read by both (equal DDL files)"
              if len(stores) == 1 else "a database per version, identical events (the DDL "
              "files differ): " + ", ".join(f"`{s.database}` ({s.readers[0]})" for s in stores))
    trickled = meta["databases"][stores[0].database]["trickled"]
    data = (f"{args.events:,} seeded (seed {args.seed}) demo events over {args.days:g} days "
            f"to {meta['end']}, tenants {', '.join(TENANTS)} (+{trickled} trickled before "
            f"this run); asked tenant `{args.tenant}`; rows now: "
            + ", ".join(f"{n:,}" for n in rows.values()))
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "bench.mix",
                                                *(argv or sys.argv[1:])])
    text = write_report(command, [f"{v.name}: {v.describe()}" for v in versions], layout,
                        data, modes, args.reps, args.trickle, args.concurrency)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}; logs in {run_dir}")


if __name__ == "__main__":
    main()
