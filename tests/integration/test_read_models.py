"""/metrics shows how fresh each read model is, read back from the model itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.readmodels import READ_MODELS, update_read_model_gauges
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics

pytestmark = pytest.mark.clickhouse


def gauge(metrics: Metrics, name: str, table: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("table") == table:
                return float(sample.value)
    raise LookupError(name)


def opened(n: int, at: datetime) -> AnalyticsRow:
    return AnalyticsRow(id=f"rm-{n}", tenant_id="t", event_type="message_opened",
                        entity_type="message", entity_id=f"m{n}", channel="email",
                        contact_id=f"c{n}", occurred_at=at)


class TestReadModelGauges:
    async def test_newest_insert_and_staleness_per_read_model(self, storage: Storage) -> None:
        """Before any insert the staleness counts from the start; after one, from its
        stored_at; a later insert (of an older event) moves it forward."""
        clock = [datetime.now(UTC).timestamp()]
        metrics, seen = Metrics(clock=lambda: clock[0]), {}
        await update_read_model_gauges(storage, metrics, seen)
        assert READ_MODELS == ("contact_hourly",)
        assert gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                     "contact_hourly") == 0
        clock[0] += 7
        assert gauge(metrics, "chanalytics_read_model_staleness_seconds",
                     "contact_hourly") == pytest.approx(7)
        writer = BatchWriter(storage, Metrics())
        before = datetime.now(UTC) - timedelta(seconds=1)
        await writer.write([opened(1, datetime.now(UTC))])
        await update_read_model_gauges(storage, metrics, seen)
        first = gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                      "contact_hourly")
        assert before.timestamp() <= first <= datetime.now(UTC).timestamp() + 1
        clock[0] = first + 3
        assert gauge(metrics, "chanalytics_read_model_staleness_seconds",
                     "contact_hourly") == pytest.approx(3)
        await asyncio.sleep(0.05)
        await writer.write([opened(2, datetime(2020, 1, 1, tzinfo=UTC))])
        await update_read_model_gauges(storage, metrics, seen)
        assert gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                     "contact_hourly") > first
