"""How fresh a tenant's numbers are: its newest stored event, and when it was stored.

Read from `tenant_freshness` (one row per tenant and insert, merged by `max`, kept by a
view of `analytics_events`: `clickhouse/schema/0033`, `0034`), so the answer does not scan
the tenant's raw events. The statement is written here, beside the compiler's parts: it
reads a read model the planner does not know (no measures, no window), like
`suppressions.py`.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from chanalytics.localtime import as_utc
from chanalytics.query.engine import Engine
from chanalytics.query.sql import Params, Select

SOURCE = "tenant_freshness"


class Newest(msgspec.Struct, frozen=True, kw_only=True):
    """The `timestamp` of the tenant's newest stored event and the instant its most
    recently stored event was stored; both None when it has none."""

    event_at: datetime | None = None
    stored_at: datetime | None = None


def newest_select(tenant_id: str, source: str) -> tuple[str, dict[str, object]]:
    params = Params()
    select = Select(columns=["count()", "max(newest_event_at)", "max(newest_stored_at)"],
                    source=source, where=["tenant_id = " + params.bind(tenant_id, "String")])
    return select.sql(), params.values


async def newest(engine: Engine, tenant_id: str) -> Newest:
    """The tenant's newest event and storing instant, from the read model as the engine
    reads it (the table, or its view's definition over the raw table)."""
    rows = await engine.read(tenant_id, *newest_select(tenant_id, engine.source(SOURCE)))
    found, event_at, stored_at = rows[0]
    if not found:
        return Newest()
    return Newest(event_at=as_utc(event_at), stored_at=as_utc(stored_at))

