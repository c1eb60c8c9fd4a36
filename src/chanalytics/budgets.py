"""Monthly budgets: one per tenant, stored in ClickHouse (`budgets`, a ReplacingMergeTree by
tenant: the latest write wins, a delete is a write with `deleted`).

ClickHouse rather than a NATS KV bucket: every API process already holds a ClickHouse
client and none needs NATS (`serve` runs without it), the budget survives restarts with the
data it is measured against, and an alert evaluator reads every tenant's budget in one
statement (`all`).

A read model below the engine: the costs preset reads it, so it imports nothing of
`query/` (a PUT body is parsed by the API, `api/delivery.py`).
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from chanalytics.clickhouse.storage import Storage
from chanalytics.localtime import first_instant
from chanalytics.versions import Versions

MAX_BUDGET = 10**12


class Budget(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    monthly_budget: float
    timezone: str = "UTC"


_READ = ("SELECT tenant_id, monthly_budget, timezone FROM budgets FINAL "
         "WHERE NOT deleted")
_WRITE = ("INSERT INTO budgets (tenant_id, monthly_budget, timezone, deleted, updated_at) "
          "SELECT {tenant:String}, {budget:Decimal(38, 12)}, {tz:String}, {deleted:Bool}, "
          "fromUnixTimestamp64Micro({at:Int64}, 'UTC')")


class BudgetStore:
    """The tenants' budgets, shared by every API process through ClickHouse."""

    def __init__(self, storage: Storage, versions: Versions | None = None) -> None:
        self.storage = storage
        self.versions = versions  # told of every write: the costs answer reads budgets
        self._last = 0  # microseconds of this process's last write: strictly increasing

    async def get(self, tenant_id: str) -> Budget | None:
        rows = await self.storage.query(_READ + " AND tenant_id = {tenant:String}",
                                        {"tenant": tenant_id})
        return _budget(rows[0]) if rows else None

    async def all(self) -> dict[str, Budget]:
        """Every tenant's budget, for an evaluator."""
        return {row[0]: _budget(row) for row in await self.storage.query(_READ)}

    async def put(self, tenant_id: str, budget: Budget) -> Budget:
        await self._write(tenant_id, Decimal(repr(budget.monthly_budget)), budget.timezone,
                          deleted=False)
        return budget

    async def delete(self, tenant_id: str) -> None:
        await self._write(tenant_id, Decimal(0), "UTC", deleted=True)

    async def _write(self, tenant_id: str, budget: Decimal, tz: str, *, deleted: bool) -> None:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        if self.versions is not None:
            await self.versions.writing([tenant_id])
        try:
            await self.storage.command(_WRITE, {"tenant": tenant_id, "budget": budget,
                                                "tz": tz, "deleted": deleted, "at": self._last})
        finally:
            if self.versions is not None:
                await self.versions.stored([tenant_id])


def _budget(row: tuple[object, ...]) -> Budget:
    return Budget(monthly_budget=float(str(row[1])), timezone=str(row[2]))


def month_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime, str]:
    """The local month of `now` in `timezone` (a stored budget's, an IANA key): its first
    and next month's first instant (UTC), and "YYYY-MM"."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    start = first_instant(datetime(local.year, local.month, 1, tzinfo=tz), tz)
    following = first_instant(
        datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz), tz)
    return start, following, f"{local.year:04d}-{local.month:02d}"
