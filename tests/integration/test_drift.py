"""The drift check finds a disagreement in any derived table, and none where all agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.drift import TABLES, check_rollups, find_drift
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics

pytestmark = pytest.mark.clickhouse

NOW = datetime.now(UTC)


def events() -> list[AnalyticsRow]:
    """Events of every family, two hours ago and yesterday: something in every table."""
    shapes = [("message_sent", "m1", {"channel": "email", "contact_id": "c1",
                                      "campaign_id": "k1"}),
              ("message_opened", "m1", {"channel": "email", "contact_id": "c1",
                                        "campaign_id": "k1"}),
              ("campaign_started", "k1", {"campaign_id": "k1"}),
              ("workflow_run_started", "r1", {"workflow_id": "w1"}),
              ("sequence_enrollment_replied", "e1", {"sequence_id": "s1", "step_number": 1}),
              ("message_delivered", "m1", {"channel": "email", "provider": "ses",
                                           "duration_ms": 900}),
              ("message_unsubscribed", "m1", {"channel": "email", "contact_id": "c1"})]
    times = (NOW - timedelta(hours=2), NOW.replace(hour=12, minute=0) - timedelta(days=1))
    return [AnalyticsRow(id=f"d{n}-{i}", tenant_id="t", event_type=kind,
                         entity_type=kind.split("_")[0], entity_id=entity, occurred_at=at,
                         **more)  # type: ignore[arg-type]
            for n, at in enumerate(times) for i, (kind, entity, more) in enumerate(shapes)]


class TestDrift:
    async def test_consistent_tables_show_no_drift(self, storage: Storage) -> None:
        """After a normal write every derived table agrees with the raw table."""
        await BatchWriter(storage, Metrics()).write(events())
        assert await find_drift(storage, NOW, recheck_after=0) == []

    @pytest.mark.parametrize("table", [t.name for t in TABLES])
    async def test_a_table_that_lost_rows_is_reported(self, storage: Storage, table: str) -> None:
        """Emptying one derived table is reported for that table, in the logs' count and
        the labelled metric, and for no other table."""
        await BatchWriter(storage, Metrics()).write(events())
        await storage.command(f"TRUNCATE TABLE {table}")
        found = await find_drift(storage, NOW, recheck_after=0)
        assert {d.table for d in found} == {table}
        assert all(d.derived == 0 and d.raw > 0 and d.tenant_id == "t" for d in found)
        metrics = Metrics()
        assert await check_rollups(storage, metrics, recheck_after=0) == len(found)
        assert metrics.rollup_drift.labels(table=table)._value.get() == len(found)
