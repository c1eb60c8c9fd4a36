"""A/B bench of the dashboard mix: two checkouts side by side on the same data, one run.

    git worktree add /tmp/bench-before 3506375          # the "before" version, once
    PYTHONPATH=$PWD/src:$PWD .venv/bin/python -m bench.mix \\
        --before /tmp/bench-before --after . --data-dir /tmp/bench-mix

One `chanalytics clickhouse-server` (the after checkout's) holds the data in
`--data-dir`; each version runs as its own `chanalytics serve` process with its
checkout's `src/` on PYTHONPATH, both reading the same database (or, when their DDL files
differ, a database each with identical events: `data.plan_stores`). The data: about
150k seeded demo events over 35 days in three tenants, stored through NATS and the real
`chanalytics ingest` once per data dir (`data.py`). Then, for each mode:

- idle: every cell (10 endpoints by 3 windows, `cells.py`) asked from both versions,
  alternating, `--reps` times; medians, p95s, speed-ups and their geometric mean;
  every pair of answers compared; then the mix's requests/s at concurrency 16
  (`throughput.py`), the versions alternating in slices;
- trickle (`--trickle 4`): the same while the tenant receives 4 new events a second
  dated inside the windows (`trickle.py`), each stored by `chanalytics ingest`; at the
  end, once ingest has acknowledged them all, both versions' answers must have grown by
  exactly the events published (and all 30 cells' answers must be equal again). The
  trickled events stay in the database, for both versions alike; the report says how
  many earlier runs added. A new `--data-dir` starts from the seeded events alone.

The report (`report.py`) goes to bench/results/mix.md (`--out` elsewhere); the processes'
logs stay in `--data-dir`/logs-<time>. Run on an otherwise quiet machine: with the
defaults, a one-time load through ingest, then 2 x (30 cells x 30 reps x 2 versions + 40 s of
load) per run. Noise: both flags pointing at one checkout give ratios near 1, but on
busy shared cores with few reps single cells ranged 0.4-3x; judge "no cell slower" with
the defaults' 30 reps on a quiet machine, and re-run a cell that looks slower.

The concurrency-16 load here is the mix's own (the 30 cells, a Python client) with both
versions in one run; `bench/load_bench.py --src` still measures one checkout per run
with `wrk` over its seven endpoints.
"""
