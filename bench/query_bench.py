"""Query benchmark: the seven dashboard endpoints on rollups vs the raw table vs PostgreSQL.

    .venv/bin/python bench/query_bench.py --events 100000000 --tenants 1000 \
        --data-dir /tmp/qbench [--pg-events 20000000] [--skip-pg] [--reps 30]

1. Loads N synthetic events over T tenants into the embedded engine (chDB), generated
   inside ClickHouse with `INSERT INTO analytics_events SELECT ... FROM numbers(...)` in
   chunks, so the materialized views fill the rollups exactly as ingest does. Tenant sizes
   are Zipf-like (exponent solved so that the largest tenant holds ~5% of the events).
   Events span the 90 days before the load. The key chains, which ingest keeps batch by
   batch, are then built in one statement. A data dir that already holds N events is
   reused (its load time is read from `bench-meta.json`).
2. For the largest and the median tenant, over 30 and 90 days — explicit
   `startDate`/`endDate` (whole days) and `timeRange=30d|90d` (ends at now, unaligned) —
   calls every endpoint through the real app (`litestar.testing.AsyncTestClient`, bearer
   token per tenant): warm-ups, then `--reps` timed calls; p50/p95.
3. Answers the same questions with raw-table SQL (no rollups, `uniqExact(entity_id)`),
   through the same storage client; p50/p95.
4. PostgreSQL: the first `--pg-events` events by generation number (`stream_seq`) — since
   tenants and times are hashed, a uniform sample: every tenant keeps the same share —
   exported as TSV, loaded with COPY into a throw-away cluster; the seed's
   `COUNT(*) FILTER (...)` overview query and a daily series for the largest tenant, 30 days.
5. Writes bench/results/query.md.
"""

# SQL here is built from constants and integers of this script, never from input;
# the report uses the multiplication sign and en dash on purpose.
# ruff: noqa: S608, RUF001

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from chanalytics import chains
from chanalytics.app import create_app, freeze_startup_objects
from chanalytics.config import load_settings
from chanalytics.logs import configure_logging
from chanalytics.storage import Storage, schema_dir

RESULTS = Path(__file__).parent / "results" / "query.md"
CHUNK = 10_000_000
DAY_MS = 86_400_000
SPAN_DAYS = 90

MESSAGE_TYPES = (
    "'message_sent', 'message_delivered', 'message_opened', 'message_clicked', "
    "'message_bounced', 'message_complained', 'message_unsubscribed', 'message_failed'"
)

# Cumulative thresholds out of 10 000 (event mix of the whole data set).
EVENT_MIX = [
    ("message_sent", 4000),
    ("message_delivered", 3400),
    ("message_opened", 1200),
    ("message_clicked", 300),
    ("message_bounced", 150),
    ("message_failed", 100),
    ("message_complained", 10),
    ("message_unsubscribed", 30),
    ("campaign_started", 5),
    ("campaign_completed", 4),
    ("workflow_run_started", 200),
    ("workflow_run_completed", 160),
    ("workflow_run_goal_reached", 50),
    ("sequence_enrollment_enrolled", 80),
    ("sequence_step_executed", 150),
    ("sequence_enrollment_replied", 30),
    ("sequence_enrollment_completed", 30),
    ("sequence_enrollment_exited", 20),
    ("contact_created", 81),
]
assert sum(w for _, w in EVENT_MIX) == 10_000


# -- data ----------------------------------------------------------------------------------


def tenant_counts(events: int, tenants: int, largest_share: float = 0.05) -> list[int]:
    """Events per tenant rank: Zipf k^-s with s solved so that rank 1 holds `largest_share`."""
    def share(s: float) -> float:
        return 1.0 / sum(k ** -s for k in range(1, tenants + 1))

    lo, hi = 0.0, 3.0  # share(s) grows with s
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if share(mid) < largest_share else (lo, mid)
    s = (lo + hi) / 2
    weights = [k ** -s for k in range(1, tenants + 1)]
    total = sum(weights)
    return [max(1, round(events * w / total)) for w in weights]


def slot_table(counts: list[int], slots: int = 100_000) -> list[int]:
    """Slots per tenant (at least 1) for the in-SQL lookup array, proportional to counts."""
    total = sum(counts)
    per = [max(1, round(slots * c / total)) for c in counts]
    per[0] += slots - sum(per)
    return per


def insert_sql(start: int, rows: int, end_ms: int, total: int, slots: list[int]) -> str:
    """One chunk of events, computed from `number` with deterministic hashes."""
    types = []
    acc = 0
    for name, weight in EVENT_MIX:
        acc += weight
        types.append(f"r < {acc}, '{name}'")
    event_type = "multiIf(" + ", ".join(types) + ", 'contact_created')"
    open_pool = max(1, total // 5)
    click_pool = max(1, total // 20)
    msg_pool = max(1, int(total * 0.45))
    run_pool = max(1, total // 60)
    enr_pool = max(1, total // 100)
    span = SPAN_DAYS * DAY_MS
    return f"""
INSERT INTO analytics_events
    (id, tenant_id, event_type, entity_type, entity_id, channel, contact_id, source_type,
     source_id, campaign_id, workflow_id, sequence_id, template_id, template_name, entity_name,
     provider, cost, duration_ms, error_code, bounce_type, url, step_number, status,
     recipient_count, contact_source, metadata, stream_seq, occurred_at)
WITH
    arrayFlatten(arrayMap((t, c) -> arrayWithConstant(c, t),
                          range(1, {len(slots) + 1}), {slots})) AS lut
SELECT
    concat('e', toString(n)) AS id,
    concat('tenant-', toString(tn)) AS tenant_id,
    et AS event_type,
    kind AS entity_type,
    multiIf(
        et = 'message_sent', concat('msg-', toString(n)),
        et = 'message_opened', concat('msg-', toString(cityHash64(n, 7) % {open_pool})),
        et = 'message_clicked', concat('msg-', toString(cityHash64(n, 7) % {click_pool})),
        kind = 'message', concat('msg-', toString(cityHash64(n, 7) % {msg_pool})),
        kind = 'campaign', cmp,
        kind = 'workflow', concat('run-', toString(cityHash64(n, 7) % {run_pool})),
        kind = 'sequence', concat('enr-', toString(cityHash64(n, 7) % {enr_pool})),
        concat('c-', toString(h8 % 200000))) AS entity_id,
    if(kind = 'message' OR kind = 'campaign', ch, '') AS channel,
    if(kind = 'campaign', '', concat('c-', toString(h8 % 200000))) AS contact_id,
    if(kind = 'message', src, '') AS source_type,
    multiIf(src = 'campaign', cmp, src = 'workflow', wf, src = 'sequence', seq, '') AS source_id,
    if(kind = 'campaign' OR (kind = 'message' AND src = 'campaign'), cmp, '') AS campaign_id,
    if(kind = 'workflow' OR (kind = 'message' AND src = 'workflow'), wf, '') AS workflow_id,
    if(kind = 'sequence' OR (kind = 'message' AND src = 'sequence'), seq, '') AS sequence_id,
    if(kind = 'message' AND h9 % 100 < 85, concat('tpl-', toString(h9 % 300)), '') AS template_id,
    if(template_id != '' AND h9 % 1000 < 50,
       concat('Template ', toString(h9 % 300), ' v', toString(intDiv(n, 1000000) % 5)),
       NULL) AS template_name,
    multiIf(kind = 'campaign', concat('Campaign ', cmp),
            kind = 'workflow' AND h9 % 10 = 0, concat('Workflow ', wf),
            kind = 'sequence' AND h9 % 10 = 0, concat('Sequence ', seq), NULL) AS entity_name,
    if(kind = 'message', ['ses', 'twilio', 'meta', 'fcm'][chi], '') AS provider,
    if(et = 'message_sent', (h9 % 5000) / 100000.0, NULL) AS cost,
    if(et = 'message_delivered', h9 % 60000, NULL) AS duration_ms,
    if(et IN ('message_bounced', 'message_failed'), concat('E', toString(h9 % 40)), '')
        AS error_code,
    if(et = 'message_bounced', if(h9 % 3 = 0, 'hard', 'soft'), '') AS bounce_type,
    if(et = 'message_clicked', concat('https://example.com/l/', toString(h9 % 500)), '') AS url,
    toUInt32(if(kind = 'sequence' OR src = 'sequence', 1 + h9 % 5, 0)) AS step_number,
    multiIf(et = 'workflow_run_completed', if(h9 % 100 < 85, 'completed', 'failed'), '') AS status,
    if(et = 'campaign_started', 100 + h9 % 10000, NULL) AS recipient_count,
    if(et = 'contact_created', 'import', '') AS contact_source,
    if(h9 % 4 = 0, '{{"k":"v"}}', '') AS metadata,
    n AS stream_seq,
    fromUnixTimestamp64Milli(toInt64({end_ms} - 1 - h3 % {span}), 'UTC') AS occurred_at
FROM
(
    SELECT
        number AS n,
        lut[1 + cityHash64(number, 1) % length(lut)] AS tn,
        cityHash64(number, 2) % 10000 AS r,
        {event_type} AS et,
        multiIf(startsWith(et, 'message_'), 'message', startsWith(et, 'campaign_'), 'campaign',
                startsWith(et, 'workflow_'), 'workflow', startsWith(et, 'sequence_'), 'sequence',
                'contact') AS kind,
        cityHash64(number, 3) AS h3,
        cityHash64(number, 4) % 100 AS chp,
        multiIf(chp < 55, 1, chp < 80, 2, chp < 92, 3, 4) AS chi,
        ['email', 'sms', 'whatsapp', 'push'][chi] AS ch,
        cityHash64(number, 5) % 100 AS srcp,
        multiIf(srcp < 40, 'campaign', srcp < 70, 'workflow', srcp < 80, 'sequence',
                srcp < 95, 'manual', 'api') AS src,
        cityHash64(number, 6) AS h6,
        concat('cmp-', toString(h6 % 200)) AS cmp,
        concat('wf-', toString(h6 % 50)) AS wf,
        concat('seq-', toString(h6 % 30)) AS seq,
        cityHash64(number, 8) AS h8,
        cityHash64(number, 9) AS h9
    FROM numbers({start}, {rows})
)
SETTINGS max_threads = 2, max_insert_threads = 2, parallel_view_processing = 1,
         min_insert_block_size_rows = 2000000,
         min_insert_block_size_bytes = 0
"""


def load(storage: Storage, events: int, tenants: int, end_ms: int) -> float:
    slots = slot_table(tenant_counts(events, tenants))
    started = time.perf_counter()
    done = 0
    while done < events:
        rows = min(CHUNK, events - done)
        t0 = time.perf_counter()
        storage.command_sync(insert_sql(done, rows, end_ms, events, slots))
        done += rows
        elapsed = time.perf_counter() - started
        print(f"  loaded {done:>12,} rows  chunk {time.perf_counter() - t0:6.1f} s  "
              f"total {elapsed:7.1f} s  {done / elapsed:>10,.0f} rows/s", flush=True)
    return time.perf_counter() - started


def build_chains(storage: Storage) -> float:
    """Fill the key chains of the loaded events; seconds spent (0 when already built).

    The ingest writer keeps the chains (`chanalytics/chains.py`) as it stores each batch;
    the load writes `analytics_events` directly, so only the views ran. This builds the
    chains from the key buckets the views filled, with the statement of the migration
    that backfills them on upgrade.
    """
    if storage.query_sync("SELECT count() FROM distinct_chain_15m")[0][0]:
        return 0.0
    backfill = schema_dir() / "0041_backfill_distinct_chain_15m.sql"
    sql = (backfill.read_text().replace("{chain_levels}", chains.LEVELS_SQL)
           .replace("'migration-0041'", "'bench-load-chains'"))
    started = time.perf_counter()
    storage.command_sync(sql)
    return time.perf_counter() - started


def wait_for_merges(storage: Storage, limit_s: float = 900.0) -> float:
    """Seconds spent waiting until no merge runs (timings taken during merges are not steady)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        running = storage.query_sync(
            "SELECT count() FROM system.merges WHERE database = currentDatabase()")[0][0]
        if not running:
            break
        time.sleep(5)
    return time.perf_counter() - started if time.perf_counter() - started > 1 else 0.0


def rollup_tables(storage: Storage) -> list[str]:
    """Every rollup the migrations created: the Aggregating/ReplacingMergeTree tables (the raw
    table, the id index, staging and `schema_migrations` are plain MergeTree)."""
    return [name for (name,) in storage.query_sync(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine IN "
        "('AggregatingMergeTree', 'ReplacingMergeTree') ORDER BY name")]


def settle_rollups(storage: Storage) -> float:
    """Merge each rollup's parts within their partitions (`OPTIMIZE … FINAL`); seconds spent.

    The bench loads 90 days in 10 chunks that each span all 90 days, so every 15-minute
    bucket's rows sit in up to 10 parts. Real ingest is chronological: a bucket's rows
    arrive within minutes and background merges soon combine them, leaving one row per
    key. This puts the loaded data in that state once (a no-op when already merged).
    """
    started = time.perf_counter()
    for table in rollup_tables(storage):
        spread = storage.query_sync(
            "SELECT max(c) FROM (SELECT count() AS c FROM system.parts WHERE active AND "
            "database = currentDatabase() AND table = {t:String} GROUP BY partition)",
            {"t": table})[0][0]
        if spread and spread > 1:
            storage.command_sync(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - started


# -- raw-table SQL (no rollups) -----------------------------------------------------------------

RANGE = ("tenant_id = {tenant:String} AND occurred_at >= {start:DateTime64(3, 'UTC')} "
         "AND occurred_at < {end:DateTime64(3, 'UTC')}")

LOCAL = {
    "day": "toStartOfDay(occurred_at, {tz:String})",
    "hour": "toStartOfHour(occurred_at, {tz:String})",
}


def _message_metrics() -> str:
    return """
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    uniqExactIf(entity_id, event_type = 'message_opened') AS opened,
    uniqExactIf(entity_id, event_type = 'message_clicked') AS clicked,
    countIf(event_type = 'message_bounced') AS bounced,
    countIf(event_type = 'message_complained') AS complained,
    countIf(event_type = 'message_unsubscribed') AS unsubscribed,
    countIf(event_type = 'message_failed') AS failed"""


def raw_messages(granularity: str) -> str:
    return f"""
SELECT grouping(channel, b) AS g, channel, {LOCAL[granularity]} AS b, {_message_metrics()}
FROM analytics_events
WHERE {RANGE} AND event_type IN ({MESSAGE_TYPES}) AND entity_type = 'message'
GROUP BY GROUPING SETS ((channel), (b), ())
SETTINGS force_grouping_standard_compatibility = 1"""


RAW_OVERVIEW = f"""
SELECT grouping(channel, b) AS g, channel, {LOCAL['day']} AS b,
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    uniqExactIf(entity_id, event_type = 'message_opened') AS opened,
    uniqExactIf(entity_id, event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE {RANGE} AND event_type IN ({MESSAGE_TYPES}) AND entity_type = 'message'
GROUP BY GROUPING SETS ((channel), (b), ())
SETTINGS force_grouping_standard_compatibility = 1"""

RAW_CAMPAIGNS = f"""
SELECT grouping(campaign_id, b) AS g, campaign_id, {LOCAL['day']} AS b,
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    uniqExactIf(entity_id, event_type = 'message_opened') AS opened,
    uniqExactIf(entity_id, event_type = 'message_clicked') AS clicked,
    countIf(event_type = 'campaign_started') AS started,
    countIf(event_type = 'campaign_completed') AS completed,
    uniqExactIf(contact_id, event_type = 'message_sent' AND contact_id != '') AS recipients
FROM analytics_events
WHERE {RANGE} AND campaign_id != ''
  AND event_type IN ({MESSAGE_TYPES}, 'campaign_started', 'campaign_completed')
GROUP BY GROUPING SETS ((campaign_id), (b), ())
SETTINGS force_grouping_standard_compatibility = 1"""

RAW_CAMPAIGN_NAMES = """
SELECT campaign_id, argMax(entity_name, (occurred_at, id))
FROM analytics_events
WHERE tenant_id = {tenant:String} AND event_type IN ('campaign_started', 'campaign_completed')
  AND campaign_id IN {ids:Array(String)} AND entity_name IS NOT NULL
GROUP BY campaign_id"""

RAW_TEMPLATES = f"""
SELECT template_id,
    countIf(event_type = 'message_sent') AS sent,
    countIf(event_type = 'message_delivered') AS delivered,
    uniqExactIf(entity_id, event_type = 'message_opened') AS opened,
    uniqExactIf(entity_id, event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE {RANGE} AND template_id != '' AND event_type IN ({MESSAGE_TYPES})
GROUP BY template_id"""

# Latest name ever seen: every message event of the tenant that carried one (all time).
RAW_TEMPLATE_NAMES = f"""
SELECT template_id, argMax(template_name, (occurred_at, id))
FROM analytics_events
WHERE tenant_id = {{tenant:String}} AND event_type IN ({MESSAGE_TYPES})
  AND template_id IN {{ids:Array(String)}} AND template_name IS NOT NULL
GROUP BY template_id"""

RAW_WORKFLOWS = f"""
SELECT grouping(workflow_id, b) AS g, workflow_id, {LOCAL['day']} AS b,
    countIf(event_type = 'workflow_run_started') AS started,
    countIf(event_type = 'workflow_run_completed' AND status = 'completed') AS completed,
    countIf(event_type = 'workflow_run_completed' AND status = 'failed') AS failed,
    countIf(event_type = 'workflow_run_goal_reached') AS goal
FROM analytics_events
WHERE {RANGE}
  AND event_type IN ('workflow_run_started', 'workflow_run_completed', 'workflow_run_goal_reached')
GROUP BY GROUPING SETS ((workflow_id), (b), ())
SETTINGS force_grouping_standard_compatibility = 1"""

RAW_SEQUENCES = f"""
SELECT grouping(sequence_id, step_number) AS g, sequence_id, step_number,
    countIf(event_type = 'sequence_enrollment_enrolled') AS enrolled,
    countIf(event_type = 'sequence_enrollment_completed') AS completed,
    countIf(event_type = 'sequence_step_executed') AS executed,
    uniqExactIf(entity_id, event_type = 'sequence_enrollment_replied') AS replied
FROM analytics_events
WHERE {RANGE}
  AND event_type IN ('sequence_enrollment_enrolled', 'sequence_enrollment_replied',
                     'sequence_enrollment_completed', 'sequence_enrollment_exited',
                     'sequence_step_executed')
GROUP BY GROUPING SETS ((sequence_id), (step_number), ())
SETTINGS force_grouping_standard_compatibility = 1"""

RAW_SEQUENCE_ACTIVE = """
SELECT countIf(enrolled < {end:DateTime64(3, 'UTC')} AND ended >= {end:DateTime64(3, 'UTC')})
FROM
(
    SELECT
        minIf(occurred_at, event_type = 'sequence_enrollment_enrolled') AS enrolled,
        minIf(occurred_at, event_type != 'sequence_enrollment_enrolled') AS ended,
        countIf(event_type != 'sequence_enrollment_enrolled') AS ends
    FROM analytics_events
    WHERE tenant_id = {tenant:String}
      AND event_type IN ('sequence_enrollment_enrolled', 'sequence_enrollment_completed',
                         'sequence_enrollment_exited')
      AND occurred_at < {end:DateTime64(3, 'UTC')}
    GROUP BY sequence_id, entity_id
    HAVING countIf(event_type = 'sequence_enrollment_enrolled') > 0
)
WHERE ends = 0 OR ended >= {end:DateTime64(3, 'UTC')}"""

RAW_TRAFFIC = f"""
SELECT grouping(hour, weekday, b) AS g,
    toHour(occurred_at, {{tz:String}}) AS hour,
    toDayOfWeek(occurred_at, 0, {{tz:String}}) AS weekday,
    {LOCAL['hour']} AS b,
    count() AS messages
FROM analytics_events
WHERE {RANGE} AND event_type = 'message_sent' AND entity_type = 'message'
GROUP BY GROUPING SETS ((hour), (weekday), (b))
SETTINGS force_grouping_standard_compatibility = 1"""


def _top(rows: list[tuple[Any, ...]], id_col: int, sort_col: int, limit: int = 10) -> list[str]:
    picked = [r for r in rows if r[id_col]]
    picked.sort(key=lambda r: (-r[sort_col], r[id_col]))
    return [r[id_col] for r in picked[:limit]]


async def raw_endpoint(storage: Storage, endpoint: str, params: dict[str, Any]) -> None:
    """The endpoint's question answered from analytics_events alone."""
    if endpoint == "overview":
        await storage.query(RAW_OVERVIEW, params)
    elif endpoint == "messages(day)":
        await storage.query(raw_messages("day"), params)
    elif endpoint == "messages(hour)":
        await storage.query(raw_messages("hour"), params)
    elif endpoint == "campaigns":
        rows = await storage.query(RAW_CAMPAIGNS, params)
        ids = _top([r for r in rows if r[0] == 1], 1, 3)  # per-campaign rows: g = 0b01
        await storage.query(RAW_CAMPAIGN_NAMES, {**params, "ids": ids})
    elif endpoint == "templates":
        rows = await storage.query(RAW_TEMPLATES, params)
        ids = _top(rows, 0, 1)
        await storage.query(RAW_TEMPLATE_NAMES, {**params, "ids": ids})
    elif endpoint == "workflows":
        await storage.query(RAW_WORKFLOWS, params)
    elif endpoint == "sequences":
        await asyncio.gather(storage.query(RAW_SEQUENCES, params),
                             storage.query(RAW_SEQUENCE_ACTIVE, params))
    elif endpoint == "traffic":
        await storage.query(RAW_TRAFFIC, params)
    else:
        raise ValueError(endpoint)


# -- timing ------------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("overview", "overview", {}),
    ("messages(day)", "messages", {"granularity": "day"}),
    ("messages(hour)", "messages", {"granularity": "hour"}),
    ("campaigns", "campaigns", {}),
    ("workflows", "workflows", {}),
    ("sequences", "sequences", {}),
    ("templates", "templates", {}),
    ("traffic", "traffic", {"granularity": "hour"}),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return pct(self.samples, 50)

    @property
    def p95(self) -> float:
        return pct(self.samples, 95)


async def timed(fn: Callable[[], Awaitable[Any]], reps: int, warmups: int = 3,
                slow_ms: float = 800.0) -> Timing:
    """Warm-ups, then `reps` timed calls (10 when one call takes longer than `slow_ms`)."""
    first = 0.0
    for _ in range(warmups):
        t0 = time.perf_counter()
        await fn()
        first = (time.perf_counter() - t0) * 1000
    n = reps if first < slow_ms else min(reps, 10)
    timing = Timing()
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        timing.samples.append((time.perf_counter() - t0) * 1000)
    return timing


@dataclass
class Case:
    tenant: str          # "largest" / "median"
    tenant_id: str
    tenant_events: int
    range_name: str      # e.g. "30d dates"
    endpoint: str
    rollup: Timing
    raw: Timing
    sql: Timing          # per endpoint call: summed wall time of its statements
    statements: int


def windows(now: datetime) -> list[tuple[str, dict[str, str], datetime, datetime]]:
    """(name, query params, start, end) of the four ranges; UTC."""
    today = now.date()
    out = []
    for days in (30, 90):
        start_d = today - timedelta(days=days)
        end_d = today - timedelta(days=1)
        out.append((f"{days}d dates", {"startDate": start_d.isoformat(),
                                       "endDate": end_d.isoformat()},
                    _midnight(start_d), _midnight(today)))
    for days in (30, 90):
        out.append((f"timeRange={days}d", {"timeRange": f"{days}d"},
                    _midnight(today - timedelta(days=days - 1)), now))
    return out


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


async def run_queries(storage: Storage, data_dir: Path, tenants: dict[str, str],
                      reps: int) -> tuple[list[Case], dict[str, float]]:
    tokens = {f"tok-{label}": tenant for label, tenant in tenants.items()}
    settings = load_settings({}, data_dir=str(data_dir),
                             api_keys=",".join(f"{t}={v}" for t, v in tokens.items()))
    app = create_app(settings, storage=storage)
    cases: list[Case] = []
    baseline: dict[str, float] = {}
    counts = dict(storage.query_sync(
        "SELECT tenant_id, count() FROM analytics_events WHERE tenant_id IN {t:Array(String)} "
        "GROUP BY tenant_id", {"t": list(tenants.values())}))
    # Record every statement's wall time, to split an endpoint's latency into SQL and the rest.
    sql_log: list[float] = []
    plain_query = storage.query

    async def recording_query(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        t0 = time.perf_counter()
        try:
            return await plain_query(sql, params)
        finally:
            sql_log.append((time.perf_counter() - t0) * 1000)

    storage.query = recording_query  # type: ignore[method-assign]
    async with AsyncTestClient(app=app) as client:
        freeze_startup_objects()  # as `chanalytics serve` does once the app is up
        async def ping() -> None:
            await storage.query("SELECT 1")

        async def live() -> None:
            (await client.get("/health/live")).raise_for_status()

        baseline["SELECT 1 through Storage.query"] = (await timed(ping, reps)).p50
        baseline["GET /health/live (no query)"] = (await timed(live, reps)).p50

        for label, tenant in tenants.items():
            headers = {"Authorization": f"Bearer tok-{label}"}
            for range_name, range_params, start, end in windows(datetime.now(UTC)):
                params = {"tenant": tenant, "tz": "UTC", "start": start, "end": end}
                for name, path, extra in ENDPOINTS:
                    query = {**range_params, **extra}

                    sql_sums: list[float] = []
                    sql_counts: list[int] = []

                    async def api(path: str = path, query: dict[str, str] = query,
                                  headers: dict[str, str] = headers,
                                  sql_sums: list[float] = sql_sums,
                                  sql_counts: list[int] = sql_counts) -> None:
                        sql_log.clear()
                        response = await client.get(f"/api/v1/analytics/{path}",
                                                    params=query, headers=headers)
                        sql_sums.append(sum(sql_log))
                        sql_counts.append(len(sql_log))
                        if response.status_code != 200:
                            raise RuntimeError(f"{path} {query}: {response.status_code} "
                                               f"{response.text[:300]}")

                    async def raw(name: str = name, params: dict[str, Any] = params) -> None:
                        await raw_endpoint(storage, name, params)

                    rollup_t = await timed(api, reps)
                    raw_t = await timed(raw, reps)
                    case = Case(label, tenant, counts.get(tenant, 0), range_name, name,
                                rollup_t, raw_t, Timing(sql_sums[3:]), max(sql_counts))
                    cases.append(case)
                    print(f"  {label:8} {range_name:15} {name:15} rollup p50 "
                          f"{rollup_t.p50:8.1f} p95 {rollup_t.p95:8.1f} | raw p50 "
                          f"{raw_t.p50:8.1f} p95 {raw_t.p95:8.1f} ms | SQL in endpoint p50 "
                          f"{case.sql.p50:8.1f} ({case.statements} stmts)", flush=True)
    storage.query = plain_query  # type: ignore[method-assign]
    return cases, baseline


# -- PostgreSQL -----------------------------------------------------------------------------------

PG_COLUMNS = ("id", "tenant_id", "event_type", "entity_id", "channel", "contact_id",
              "campaign_id", "template_id", "occurred_at")

PG_OVERVIEW = """
SELECT
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(*) FILTER (WHERE event_type = 'message_bounced') AS bounced,
  COUNT(*) FILTER (WHERE event_type = 'message_failed') AS failed,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = '{tenant}' AND occurred_at >= '{start}' AND occurred_at < '{end}';"""

PG_DAILY = """
SELECT date_trunc('day', occurred_at AT TIME ZONE 'UTC') AS day,
  COUNT(*) FILTER (WHERE event_type = 'message_sent') AS sent,
  COUNT(*) FILTER (WHERE event_type = 'message_delivered') AS delivered,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_opened') AS opened,
  COUNT(DISTINCT entity_id) FILTER (WHERE event_type = 'message_clicked') AS clicked
FROM analytics_events
WHERE tenant_id = '{tenant}' AND occurred_at >= '{start}' AND occurred_at < '{end}'
GROUP BY 1 ORDER BY 1;"""


@dataclass
class PgResult:
    rows: int = 0
    tenant_rows: int = 0
    load_s: float = 0.0
    index_s: float = 0.0
    overview: Timing | None = None
    daily: Timing | None = None
    skipped: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _ensure_postgres() -> Path | None:
    found = _pg_bin()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    print("  installing PostgreSQL (apt-get install -y postgresql) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            return None
    return _pg_bin()


class PgCluster:
    """A throw-away cluster in a temp dir, on a loopback port, run by the `postgres` user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qbench-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.started = False

    def _as_pg(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        if self.as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in args)]
        else:
            cmd = args
        return subprocess.run(cmd, capture_output=True, text=True)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)
        res = self._as_pg([str(self.bindir / "initdb"), "-D", str(self.datadir),
                           "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed: {res.stderr[-500:]}")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c shared_buffers=2GB -c work_mem=256MB -c maintenance_work_mem=1GB "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_wal_size=8GB -c max_parallel_workers_per_gather=2")
        res = self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w",
                           "-l", str(self.root / "log"), "-o", opts, "start"])
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {res.stderr[-500:]}")
        self.started = True

    def psql(self, sql: str, *, extra: list[str] | None = None) -> str:
        res = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "postgres", "-d", "postgres", *(extra or [])],
            input=sql, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"psql failed: {res.stderr[-800:]}")
        return res.stdout

    def stop(self) -> None:
        if self.started:
            self._as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                         "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def pg_timed(cluster: PgCluster, sql: str, reps: int, warmups: int = 3) -> Timing:
    """psql `\\timing` of repeated statements in one session (client round trip included)."""
    script = "\\o /dev/null\n" + (sql + "\n") * warmups + "\\timing on\n" + (sql + "\n") * reps
    out = cluster.psql(script)
    samples = [float(m) for m in re.findall(r"Time: ([0-9.]+) ms", out)]
    if len(samples) != reps:
        raise RuntimeError(f"expected {reps} timings, got {len(samples)}: {out[-300:]}")
    return Timing(samples)


def run_postgres(storage: Storage, pg_events: int, tenant: str, reps: int,
                 work: Path) -> PgResult:
    result = PgResult()
    bindir = _ensure_postgres()
    if bindir is None:
        result.skipped = "PostgreSQL is not installed and could not be installed (apt-get)"
        print(f"  SKIP PostgreSQL: {result.skipped}", flush=True)
        return result
    cluster = PgCluster(bindir)
    tsv = work / "pg-events.tsv"
    try:
        cluster.start()
        t0 = time.perf_counter()
        storage.command_sync(
            f"INSERT INTO FUNCTION file('{tsv}', 'TSV') SELECT {', '.join(PG_COLUMNS)} "
            f"FROM analytics_events WHERE stream_seq < {int(pg_events)} "
            "SETTINGS engine_file_truncate_on_insert = 1")
        print(f"  exported TSV in {time.perf_counter() - t0:.1f} s "
              f"({tsv.stat().st_size / 1e9:.2f} GB)", flush=True)
        cluster.psql("""
CREATE UNLOGGED TABLE analytics_events (
  id text NOT NULL, tenant_id text NOT NULL, event_type varchar(50) NOT NULL,
  entity_id text, channel varchar(20), contact_id text, campaign_id text, template_id text,
  occurred_at timestamptz NOT NULL);""")
        t0 = time.perf_counter()
        cluster.psql(f"\\copy analytics_events FROM '{tsv}' WITH (FORMAT text)\n")
        result.load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cluster.psql("CREATE INDEX idx_analytics_tenant_type_time ON analytics_events "
                     "(tenant_id, event_type, occurred_at);\nVACUUM ANALYZE analytics_events;")
        result.index_s = time.perf_counter() - t0
        result.rows = int(cluster.psql("SELECT count(*) FROM analytics_events;",
                                       extra=["-At"]).strip())
        result.tenant_rows = int(cluster.psql(
            f"SELECT count(*) FROM analytics_events WHERE tenant_id = '{tenant}';",
            extra=["-At"]).strip())
        print(f"  PostgreSQL: {result.rows:,} rows loaded in {result.load_s:.1f} s, "
              f"index + analyze {result.index_s:.1f} s", flush=True)
        now = datetime.now(UTC)
        _, _, start, end = windows(now)[0]  # 30 days, whole days
        fmt = {"tenant": tenant, "start": start.isoformat(), "end": end.isoformat()}
        result.overview = pg_timed(cluster, PG_OVERVIEW.format(**fmt), reps)
        result.daily = pg_timed(cluster, PG_DAILY.format(**fmt), reps)
        print(f"  PostgreSQL overview p50 {result.overview.p50:.1f} p95 "
              f"{result.overview.p95:.1f} ms; daily p50 {result.daily.p50:.1f} p95 "
              f"{result.daily.p95:.1f} ms", flush=True)
    except Exception as exc:  # report and go on: the ClickHouse results still count
        result.skipped = f"PostgreSQL step failed: {exc}"
        print(f"  SKIP PostgreSQL: {result.skipped}", flush=True)
    finally:
        cluster.stop()
        tsv.unlink(missing_ok=True)
    return result


# -- report ---------------------------------------------------------------------------------------


def _speedup(rollup: Timing, raw: Timing) -> str:
    return f"{raw.p50 / rollup.p50:.1f}×" if rollup.p50 > 0 else "–"


def report(args: argparse.Namespace, load_s: float, parts: dict[str, int], sizes: dict[str, int],
           cases: list[Case], baseline: dict[str, float], pg: PgResult | None,
           waited: float, settle_s: float) -> str:
    lines = [
        f"# Query benchmark — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "`.venv/bin/python bench/query_bench.py " + " ".join(sys.argv[1:]) + "`",
        "",
        "| | |",
        "|---|---|",
        f"| machine | {os.cpu_count()} cores, {_mem_gb():.0f} GB RAM, {platform.machine()}, "
        f"Python {platform.python_version()}; other work shared the machine |",
        "| engine | embedded chDB (`chdb://`), one process |",
        f"| events | {args.events:,} over {args.tenants:,} tenants, {SPAN_DAYS} days "
        "ending at load time |",
        f"| load (INSERT … SELECT FROM numbers, MVs fill rollups) | {load_s:,.1f} s — "
        f"{args.events / load_s:,.0f} rows/s |" if load_s else "| load | reused data dir |",
        f"| background merges | waited {waited:.0f} s for running merges to finish "
        "before timing |",
        f"| rollup parts merged once after the load (`OPTIMIZE … FINAL`, see `settle_rollups`) "
        f"| {settle_s:.0f} s |",
        "| active parts before timing | " + ", ".join(f"{t} {n}" for t, n in parts.items()) + " |",
        "| rows | " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()) + " |",
        f"| repetitions | {args.reps} after 3 warm-ups (10 when a warm-up call took > 0.8 s) |",
        "",
        "Fixed costs (p50): " + "; ".join(f"{k} {v:.2f} ms" for k, v in baseline.items()) + ".",
        "",
        "Rollup = the real endpoint through the in-process app (`AsyncTestClient`, HTTP, "
        "auth, JSON). Raw = the same question from `analytics_events` alone "
        "(`uniqExact(entity_id)`, names from raw rows), SQL through the same `Storage` "
        "client, no HTTP. Speed-up = raw p50 / rollup p50. SQL in endpoint = summed wall "
        "time of the statements one endpoint call ran (they may overlap: `asyncio.gather`); "
        "the rest of the rollup time is Python (validation, zero-fill, JSON) and HTTP.",
        "",
    ]
    tenants_seen: list[tuple[str, str, int]] = []
    for c in cases:
        if (c.tenant, c.tenant_id, c.tenant_events) not in tenants_seen:  # keep order
            tenants_seen.append((c.tenant, c.tenant_id, c.tenant_events))
    for label, tid, n in tenants_seen:
        lines += [f"## {label} tenant `{tid}` — {n:,} events ({n / args.events * 100:.2f}%)", "",
                  "| range | endpoint | rollup p50 ms | rollup p95 ms | raw p50 ms | raw p95 ms "
                  "| speed-up | SQL in endpoint p50 ms (stmts) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in cases:
            if c.tenant != label:
                continue
            lines.append(f"| {c.range_name} | {c.endpoint} | {c.rollup.p50:.1f} | "
                         f"{c.rollup.p95:.1f} | {c.raw.p50:.1f} | {c.raw.p95:.1f} | "
                         f"{_speedup(c.rollup, c.raw)} | {c.sql.p50:.1f} ({c.statements}) |")
        lines.append("")
    lines += ["## PostgreSQL", ""]
    largest = [c for c in cases if c.tenant == "largest" and c.range_name == "30d dates"]
    by_ep = {c.endpoint: c for c in largest}
    if pg is None:
        lines.append("Skipped (`--skip-pg`).")
    elif pg.skipped:
        lines.append(f"Skipped: {pg.skipped}")
    else:
        assert pg.overview and pg.daily
        lines += [
            f"PostgreSQL {_pg_version()} in a throw-away cluster (shared_buffers 2GB, "
            "work_mem 256MB, 2 parallel workers, warm cache). Data: the first "
            f"{pg.rows:,} events by generation number (`stream_seq < {args.pg_events}`), "
            "a uniform sample — every tenant keeps the same share of its events, so the "
            f"largest tenant has {pg.tenant_rows:,} rows there versus "
            f"{largest[0].tenant_events if largest else 0:,} in ClickHouse. COPY "
            f"{pg.load_s:.1f} s; index `(tenant_id, event_type, occurred_at)` + VACUUM "
            f"ANALYZE {pg.index_s:.1f} s. Timed with psql `\\timing` in one session.",
            "",
            "| query (largest tenant, 30 d) | PostgreSQL p50 ms | PostgreSQL p95 ms | "
            "rollup endpoint p50 / p95 ms | ratio (p95) |",
            "|---|---:|---:|---:|---:|",
        ]
        for title, timing, ep in (
            ("seed overview: COUNT(*) FILTER + COUNT(DISTINCT) FILTER", pg.overview,
             "overview"),
            ("daily series: same, GROUP BY day", pg.daily, "messages(day)"),
        ):
            c = by_ep.get(ep)
            ours = f"{c.rollup.p50:.1f} / {c.rollup.p95:.1f} ({ep})" if c else "–"
            ratio = f"{timing.p95 / c.rollup.p95:.1f}×" if c else "–"
            lines.append(f"| {title} | {timing.p50:.1f} | {timing.p95:.1f} | {ours} | "
                         f"{ratio} |")
    lines += ["", "## Targets", ""]
    lines += targets(cases, pg)
    return "\n".join(lines) + "\n"


def targets(cases: list[Case], pg: PgResult | None) -> list[str]:
    out = []
    l30 = [c for c in cases
           if c.tenant == "largest" and c.range_name in ("30d dates", "timeRange=30d")]
    worst = max(l30, key=lambda c: c.rollup.p95) if l30 else None
    if worst:
        ok = all(c.rollup.p95 <= 50 for c in l30)
        over = [f"{c.endpoint} {c.range_name} {c.rollup.p95:.1f}" for c in l30
                if c.rollup.p95 > 50]
        out.append(f"- p95 ≤ 50 ms, every endpoint, largest tenant, 30 d: "
                   f"**{'met' if ok else 'not met'}** — worst {worst.endpoint} "
                   f"({worst.range_name}) p95 {worst.rollup.p95:.1f} ms"
                   + ("" if ok else "; over: " + ", ".join(over)))
    slower = [c for c in cases if c.rollup.p50 > c.raw.p50]
    slower.sort(key=lambda c: c.raw.p50 / c.rollup.p50)
    out.append(f"- rollups never slower than raw (p50): **{'met' if not slower else 'not met'}**"
               + ("" if not slower else f" — slower in {len(slower)} of {len(cases)} cases; "
                  "worst: " + ", ".join(
                      f"{c.tenant} {c.range_name} {c.endpoint} {c.rollup.p50:.1f} vs "
                      f"{c.raw.p50:.1f} ms" for c in slower[:5])))
    series = [c for c in cases if c.range_name.startswith("90d") or c.range_name.endswith("90d")]
    series = [c for c in series if c.endpoint in
              ("overview", "messages(day)", "messages(hour)", "campaigns", "workflows",
               "traffic")]
    low = sorted((c for c in series if c.raw.p50 < 5 * c.rollup.p50),
                 key=lambda c: c.raw.p50 / c.rollup.p50)
    lo = min(series, key=lambda c: c.raw.p50 / c.rollup.p50) if series else None
    if lo:
        out.append(
            f"- ≥ 5× on 90-day series (endpoints with a time series, p50): "
            f"**{'met' if not low else 'not met'}** — lowest {lo.tenant} {lo.range_name} "
            f"{lo.endpoint} {lo.raw.p50 / lo.rollup.p50:.1f}×"
            + ("" if not low else f"; below 5× in {len(low)} of {len(series)}: " + ", ".join(
                f"{c.tenant} {c.range_name} {c.endpoint} {c.raw.p50 / c.rollup.p50:.1f}×"
                for c in low[:6])))
    if pg and pg.overview and pg.daily:
        by_ep = {c.endpoint: c for c in cases
                 if c.tenant == "largest" and c.range_name == "30d dates"}
        ratios = []
        for timing, ep in ((pg.overview, "overview"), (pg.daily, "messages(day)")):
            if ep in by_ep:
                ratios.append((ep, timing.p95 / by_ep[ep].rollup.p95, timing.p95,
                               by_ep[ep].rollup.p95))
        ok = all(r >= 10 for _, r, _, _ in ratios)
        out.append("- ≥ 10× faster than PostgreSQL, largest tenant (p95): "
                   f"**{'met' if ok else 'not met'}** — " + "; ".join(
                       f"{ep}: PostgreSQL {p:.1f} ms vs {o:.1f} ms = {r:.1f}×"
                       for ep, r, p, o in ratios)
                   + " (PostgreSQL holds only the sample, see above)")
    else:
        out.append("- ≥ 10× faster than PostgreSQL: not measured (PostgreSQL skipped)")
    return out


def _mem_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _pg_version() -> str:
    bindir = _pg_bin()
    if bindir is None:
        return ""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                         text=True).stdout
    found = re.search(r"\(PostgreSQL\) (\S+)", out)
    return found.group(1) if found else out.strip()


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--pg-events", type=int, default=20_000_000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--load-only", action="store_true", help="load, print, stop")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    configure_logging("warning", "console")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    args.data_dir.mkdir(parents=True, exist_ok=True)
    meta_path = args.data_dir / "bench-meta.json"
    storage = Storage(f"chdb://{args.data_dir.resolve()}/clickhouse", "chanalytics")
    storage.connect()
    storage.migrate(raw_ttl_days=730)
    existing = storage.query_sync("SELECT count() FROM analytics_events")[0][0]
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if existing == args.events and meta.get("tenants") == args.tenants:
        load_s = float(meta.get("load_s", 0.0))
        print(f"reusing {existing:,} events in {args.data_dir} (loaded in {load_s:.1f} s)")
    elif existing:
        sys.exit(f"{args.data_dir} holds {existing:,} events, not {args.events:,}: "
                 "use an empty --data-dir")
    else:
        print(f"loading {args.events:,} events over {args.tenants:,} tenants …", flush=True)
        end_ms = int(time.time() * 1000)
        load_s = load(storage, args.events, args.tenants, end_ms)
        meta = {"tenants": args.tenants, "events": args.events, "load_s": load_s,
                "end_ms": end_ms}
        meta_path.write_text(json.dumps(meta))
        print(f"loaded in {load_s:.1f} s = {args.events / load_s:,.0f} rows/s", flush=True)

    chained = build_chains(storage)
    if chained:
        meta["chains_s"] = chained
        meta_path.write_text(json.dumps(meta))
        print(f"  key chains built in {chained:.0f} s", flush=True)
    waited = wait_for_merges(storage)
    if waited:
        print(f"  waited {waited:.0f} s for background merges to finish", flush=True)
    settled = settle_rollups(storage)
    meta["settle_s"] = meta.get("settle_s", 0.0) + settled
    meta_path.write_text(json.dumps(meta))
    print(f"  rollup parts merged in {settled:.0f} s", flush=True)

    tables = ["analytics_events", *rollup_tables(storage)]
    stats = storage.query_sync(
        "SELECT table, count(), sum(rows) FROM system.parts WHERE active AND "
        "database = currentDatabase() AND table IN {t:Array(String)} GROUP BY table",
        {"t": tables})
    parts = {t: int(p) for t, p, _ in stats}
    sizes = {t: int(r) for t, _, r in stats}
    parts = {t: parts.get(t, 0) for t in tables}
    sizes = {t: sizes.get(t, 0) for t in tables}
    for t in tables:
        print(f"  {t:30} {sizes[t]:>14,} rows  {parts[t]:>4} parts")
    if args.load_only:
        storage.close()
        return

    ranked = storage.query_sync(
        "SELECT tenant_id, count() AS c FROM analytics_events GROUP BY tenant_id "
        "ORDER BY c DESC, tenant_id")
    largest = ranked[0][0]
    median = ranked[len(ranked) // 2][0]
    print(f"largest tenant {largest} ({ranked[0][1]:,} events), median tenant {median} "
          f"({ranked[len(ranked) // 2][1]:,} events)", flush=True)

    cases, baseline = asyncio.run(run_queries(
        storage, args.data_dir, {"largest": largest, "median": median}, args.reps))

    pg: PgResult | None = None
    if not args.skip_pg:
        print(f"PostgreSQL on the first {args.pg_events:,} events …", flush=True)
        pg = run_postgres(storage, min(args.pg_events, args.events), largest, args.reps,
                          args.data_dir.resolve())
    storage.close()

    text = report(args, load_s, parts, sizes, cases, baseline, pg, waited,
                  float(meta.get("settle_s", 0.0)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
