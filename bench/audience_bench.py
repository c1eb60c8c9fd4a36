"""How long engagement, funnels and cohorts take for the largest tenant, and what the
funnels' and cohorts' statements cost.

    .venv/bin/python -m bench.audience_bench --events 10000000 --tenants 100 \
        --data-dir /tmp/funnelbench [--reps 8]

Loads (or reuses) the query bench's synthetic events (`bench/query/data.py`, 90 days),
then for the largest tenant times `GET /engagement` (levels and the first page, all and
one level), one contact's score (its most active contact), `GET /funnel` (30 days,
windows of 72 h and 720 h, one campaign), `GET /funnel/workflows` (30 days) and
`GET /cohorts` (90 days, and 26 weeks) through the real app with no answer cache, each
beside the same request answered from the raw table alone (`bench/twin.py`), and each
funnel's and cohort's statement alone (its wall time and the CPU time it cost). Prints
Markdown tables; `bench/results/funnel.md` holds runs.
"""

# SQL here only finds the tenant to ask about. ruff: noqa: S608

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from bench.query.load import largest_tenant_bench
from bench.twin import time_beside_raw
from chanalytics.clickhouse.storage import Storage
from chanalytics.query.cohorts import cohorts_statement
from chanalytics.query.funnel import MESSAGES, RUNS, FunnelOptions, funnel_statement
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_window


def _weeks_26(now: datetime) -> dict[str, str]:
    """26 whole weeks ending with the one holding `now` (UTC Mondays)."""
    monday = (now - timedelta(days=now.weekday())).date()
    return {"startDate": (monday - timedelta(weeks=25)).isoformat(),
            "endDate": (monday + timedelta(days=6)).isoformat()}


def _cells(now: datetime, contact: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("engagement: levels and the first page", "engagement", {}),
        ("engagement: the high level's first page", "engagement", {"level": "high"}),
        ("one contact's score (its most active)", f"contacts/{contact}/engagement", {}),
        ("funnel 30d (72 h)", "funnel", {"timeRange": "30d"}),
        ("funnel 30d, windowHours 720", "funnel", {"timeRange": "30d", "windowHours": "720"}),
        ("funnel 30d, one campaign", "funnel", {"timeRange": "30d", "campaignId": "cmp-7"}),
        ("funnel 30d Kolkata, sms", "funnel", {"timeRange": "30d", "channel": "sms",
                                               "timezone": "Asia/Kolkata"}),
        ("funnel/workflows 30d", "funnel/workflows", {"timeRange": "30d"}),
        ("cohorts 90d New York", "cohorts", {"timezone": "America/New_York"}),
        ("cohorts 26 weeks", "cohorts", _weeks_26(now)),
    ]


async def _statements(storage: Storage, tenant: str, now: datetime) -> None:
    def request(**window: Any) -> QueryRequest:
        return QueryRequest(tenant_id=tenant, window=parse_window(
            time_range=window.get("timeRange"), start_date=window.get("startDate"),
            end_date=window.get("endDate"), timezone=window.get("timezone"),
            default_range="30d", now=now))

    statements = [
        ("funnel 30d", *funnel_statement(MESSAGES, request(timeRange="30d"), FunnelOptions())),
        ("funnel/workflows 30d", *funnel_statement(RUNS, request(timeRange="30d"),
                                                   FunnelOptions())),
        ("cohorts 26 weeks", *cohorts_statement(request(**_weeks_26(now)))),
    ]
    # CPU time of this process (embedded chDB runs in it, every thread counted): what a
    # statement costs whatever else the machine runs, unlike its wall time.
    print("\n| statement alone | wall ms (median of 5) | CPU ms (median of 5) |\n"
          "|---|---:|---:|")
    for name, sql, params in statements:
        walls, cpus = [], []
        for _ in range(6):
            started, cpu = time.perf_counter(), time.process_time()
            await storage.query(sql, params)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        print(f"| {name} | {statistics.median(walls[1:]):.0f} | "
              f"{statistics.median(cpus[1:]):.0f} |", flush=True)


def main() -> None:
    bench = largest_tenant_bench(__doc__ or "", reps=8)
    storage, tenant, events, now = bench.storage, bench.tenant, bench.events, bench.now
    sent, contacts = storage.query_sync(
        "SELECT count(), uniqExact(contact_id) FROM analytics_events WHERE tenant_id = "
        "{t:String} AND event_type = 'message_sent'", {"t": tenant})[0]
    print(f"largest tenant {tenant}: {events:,} events, {sent:,} sends to {contacts:,} "
          "contacts\n")
    (contact,), = storage.query_sync(
        "SELECT contact_id FROM analytics_events WHERE tenant_id = {t:String} AND "
        "contact_id != '' GROUP BY contact_id ORDER BY count() DESC, contact_id LIMIT 1",
        {"t": tenant})
    asyncio.run(time_beside_raw(storage, tenant, now, _cells(now, contact), bench.args.reps))
    asyncio.run(_statements(storage, tenant, now))
    storage.close()


if __name__ == "__main__":
    main()
