"""How long a campaign in depth takes, and which of its statements cost what.

    .venv/bin/python -m bench.campaign_bench --events 10000000 --tenants 100 \
        --data-dir /tmp/cmpbench [--reps 12]

Loads (or reuses) the query bench's synthetic events (`bench/query/data.py`: every
campaign spread over the 90 days), then for the largest tenant and its largest campaign
times `GET /campaigns` (for scale), the deep-dive in a few windows and the comparison
through the real app, each beside the same request answered from the raw table alone
(`bench/twin.py`), and each statement of the deep-dive's default answer alone.
Prints a Markdown table; `bench/results/campaign.md` holds a run.
"""

# SQL here only finds the tenant and campaign to ask about. ruff: noqa: S608

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import msgspec

from bench.query.load import largest_tenant_bench
from bench.twin import time_beside_raw
from chanalytics.clickhouse.storage import Storage
from chanalytics.query.clock import Granularity
from chanalytics.query.compiler import compile_statement
from chanalytics.query.engine import shared_statements
from chanalytics.query.model import Filter
from chanalytics.query.planner import plan
from chanalytics.query.presets.campaign import (
    EPOCH,
    LIFECYCLE,
    OVERVIEW_MEASURES,
    PER_CHANNEL,
)
from chanalytics.query.presets.campaigns import SERIES
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import LATEST, parse_window


def _cells(campaign: str) -> list[tuple[str, str, Any]]:
    return [
        ("campaigns list 30d (for scale)", "campaigns", {"timeRange": "30d"}),
        ("deep-dive 90d hour (defaults)", f"campaigns/{campaign}", {}),
        ("deep-dive 90d day", f"campaigns/{campaign}", {"granularity": "day"}),
        ("deep-dive 30d day", f"campaigns/{campaign}", {"timeRange": "30d",
                                                        "granularity": "day"}),
        ("deep-dive 30d day Kolkata", f"campaigns/{campaign}", {
            "timeRange": "30d", "granularity": "day", "timezone": "Asia/Kolkata"}),
        ("compare 5 campaigns 90d", "campaigns/compare",
         [("campaignId", f"cmp-{i}") for i in range(5)]),
    ]


async def _statements(storage: Storage, tenant: str, campaign: str, now: datetime) -> None:
    window = parse_window(time_range=None, start_date=None, end_date=None, timezone=None,
                          default_range="90d", now=now)
    request = QueryRequest(tenant_id=tenant, window=window, granularity=Granularity.HOUR)
    one = (Filter("campaign", "is", (campaign,)),)
    ever = msgspec.structs.replace(
        request, window=msgspec.structs.replace(window, start=EPOCH, end=LATEST))
    queries = [request.query(OVERVIEW_MEASURES, filters=one),
               request.query(PER_CHANNEL, ("channel",), filters=one),
               request.query(SERIES, ("time",), filters=one),
               request.query(("click_events", "clicked"), ("url",), filters=one),
               request.query(("open_events",), ("device",), ("country", "city"), filters=one),
               ever.query(LIFECYCLE, filters=one)]
    print("\n| statement (measures) | tables | ms (2nd run) |\n|---|---|---:|")
    for statement, planned, _ in shared_statements([plan(q) for q in queries]):
        compiled = compile_statement(statement, planned)
        for _ in range(2):
            started = time.perf_counter()
            await storage.query(compiled.sql, compiled.params)
            ms = (time.perf_counter() - started) * 1000
        tables = ", ".join(dict.fromkeys(p.table.name for p in statement.parts))
        print(f"| {', '.join(m.name for m in statement.measures)} | {tables} | {ms:.0f} |")


def main() -> None:
    bench = largest_tenant_bench(__doc__ or "", reps=12)
    storage, tenant, events, now = bench.storage, bench.tenant, bench.events, bench.now
    (campaign, messages), = storage.query_sync(
        "SELECT campaign_id, count() AS n FROM analytics_events WHERE tenant_id = "
        "{t:String} AND campaign_id != '' GROUP BY campaign_id ORDER BY n DESC LIMIT 1",
        {"t": tenant})
    print(f"largest tenant {tenant}: {events:,} events; its largest campaign {campaign}: "
          f"{messages:,} events\n")
    asyncio.run(time_beside_raw(storage, tenant, now, _cells(campaign), bench.args.reps))
    asyncio.run(_statements(storage, tenant, campaign, now))
    storage.close()


if __name__ == "__main__":
    main()
