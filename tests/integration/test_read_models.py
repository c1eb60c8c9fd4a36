"""The daily read models are exact under redelivery and recovered crashes, and /metrics
shows how fresh each read model is (read back from the model itself) and how long its
refresh took."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.readmodels import READ_MODELS, update_read_model_gauges
from chanalytics.ingest.writer import MOVE_SQL, READY_SQL, BatchWriter, WriteResult, dedup_token
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
                        contact_id=f"c{n}", campaign_id="k", occurred_at=at)


def refreshes(metrics: Metrics, table: str) -> float:
    """How many batch inserts refreshed `table`."""
    value = metrics.registry.get_sample_value("chanalytics_read_model_refresh_seconds_count",
                                              {"table": table})
    return -1.0 if value is None else value


class TestReadModelGauges:
    async def test_newest_insert_and_staleness_per_read_model(self, storage: Storage) -> None:
        """Before any insert the staleness counts from the start; after one, from its
        stored_at; a later insert (of an older event) moves it forward."""
        clock = [datetime.now(UTC).timestamp()]
        metrics, seen = Metrics(clock=lambda: clock[0]), {}
        await update_read_model_gauges(storage, metrics, seen)
        assert READ_MODELS == ("contact_hourly", "campaign_daily", "tenant_daily")
        for table in READ_MODELS:
            assert gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds", table) == 0
            assert refreshes(metrics, table) == 0  # shown before the first batch
        clock[0] += 7
        for table in READ_MODELS:
            assert gauge(metrics, "chanalytics_read_model_staleness_seconds",
                         table) == pytest.approx(7)
        stored = Metrics()
        writer = BatchWriter(storage, stored)
        before = datetime.now(UTC) - timedelta(seconds=1)
        await writer.write([opened(1, datetime.now(UTC))])
        await update_read_model_gauges(storage, metrics, seen)
        first = gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                      "contact_hourly")
        assert before.timestamp() <= first <= datetime.now(UTC).timestamp() + 1
        # One insert refreshed all three: they hold the same instant.
        for table in READ_MODELS:
            assert gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                         table) == first
        clock[0] = first + 3
        for table in READ_MODELS:
            assert gauge(metrics, "chanalytics_read_model_staleness_seconds",
                         table) == pytest.approx(3)
        await asyncio.sleep(0.05)
        await writer.write([opened(2, datetime(2020, 1, 1, tzinfo=UTC))])
        await update_read_model_gauges(storage, metrics, seen)
        for table in READ_MODELS:
            assert gauge(metrics, "chanalytics_read_model_stored_timestamp_seconds",
                         table) > first
        # A batch refreshes only the models its events reach: this one, no contact and
        # no campaign, only tenant_daily.
        await writer.write([msgspec.structs.replace(opened(3, datetime.now(UTC)),
                                                    contact_id="", campaign_id="")])
        assert [refreshes(stored, table) for table in READ_MODELS] == [2, 2, 3]
        assert stored.registry.get_sample_value(
            "chanalytics_read_model_refresh_seconds_sum", {"table": "tenant_daily"}) > 0


# The daily read models' counted columns and the event type each counts.
COUNTED = {"sent": "message_sent", "delivered": "message_delivered",
           "opened": "message_opened", "clicked": "message_clicked",
           "bounced": "message_bounced", "unsubscribed": "message_unsubscribed"}
MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def daily_events() -> list[AnalyticsRow]:
    """Message events of two tenants, two campaigns and none, every counted type and two
    that are not, over three UTC days (some a millisecond before midnight); and campaign
    lifecycle events, which neither model counts."""
    kinds = [*COUNTED.values(), "message_failed", "message_complained"]
    rows = [AnalyticsRow(id=f"dm-{n}", tenant_id=("ta", "tb")[n % 2],
                         event_type=kinds[n % len(kinds)], entity_type="message",
                         entity_id=f"m{n // 3}", channel="email", contact_id=f"c{n % 4}",
                         campaign_id=("", "k1", "k2")[n % 3],
                         occurred_at=MARCH + timedelta(hours=n) - timedelta(
                             milliseconds=1 if n % 5 == 0 else 0))
            for n in range(48)]
    lifecycle = [AnalyticsRow(id=f"dl-{n}", tenant_id="ta", event_type="campaign_started",
                              entity_type="campaign", entity_id="k1", campaign_id="k1",
                              occurred_at=MARCH + timedelta(hours=n)) for n in range(4)]
    return [row for pair in zip(rows[:4], lifecycle, strict=True) for row in pair] + rows[4:]


Cells = dict[tuple[str, ...], dict[str, int]]


def daily_oracle(rows: list[AnalyticsRow], *, per_campaign: bool) -> Cells:
    """Per tenant (and campaign) and UTC day: message events and each counted type."""
    counts: dict[tuple[str, ...], Counter[str]] = {}
    for r in rows:
        if r.entity_type != "message" or (per_campaign and not r.campaign_id):
            continue
        key = (r.tenant_id, *((r.campaign_id,) if per_campaign else ()),
               r.occurred_at.date().isoformat())
        cell = counts.setdefault(key, Counter())
        cell["events"] += 1
        for column, kind in COUNTED.items():
            cell[column] += r.event_type == kind
    return {key: {c: cell[c] for c in ("events", *COUNTED)} for key, cell in counts.items()}


async def read_daily(storage: Storage, table: str) -> Cells:
    keys = "tenant_id, campaign_id, day" if table == "campaign_daily" else "tenant_id, day"
    width = len(keys.split(", "))
    columns = ("events", *COUNTED)
    sums = ", ".join(f"sum({c})" for c in columns)
    found = {}
    for row in await storage.query(f"SELECT {keys}, {sums} FROM {table} "  # noqa: S608
                                   f"GROUP BY {keys}"):
        *key, day = row[:width]
        assert isinstance(day, date)
        found[(*key, day.isoformat())] = dict(zip(columns, row[width:], strict=True))
    return found


class TestDailyReadModels:
    async def test_exact_after_crashes_and_redelivery(self, storage: Storage) -> None:
        """campaign_daily and tenant_daily equal an oracle of the events stored once,
        after a move killed before both views committed, a batch killed after its commit
        point, redelivery of every message and re-sends under other timestamps."""
        events = daily_events()
        writer = BatchWriter(storage, Metrics())
        # Batch A: moved into the raw table and other views, but neither daily model.
        lost = events[:14]
        token = dedup_token(lost)
        await writer._stage(lost, token, WriteResult())
        await storage.command(READY_SQL, {"batch": token})
        await storage.command(MOVE_SQL, {"batch": token})
        for table in ("campaign_daily", "tenant_daily"):
            await storage.command(f"TRUNCATE TABLE {table}")
        # Batch B: committed (ready), never moved.
        ready = events[14:26]
        token = dedup_token(ready)
        await writer._stage(ready, token, WriteResult())
        await storage.command(READY_SQL, {"batch": token})
        # The restarted writer recovers both before its first batch; then every message
        # comes again, some with another timestamp (the copy stored first stays).
        assert (await writer.write(events[26:40])).stored == 14
        assert (await writer.write(events[:40])).stored == 0
        moved = [msgspec.structs.replace(r, occurred_at=r.occurred_at + timedelta(days=3))
                 for r in events[30:40]]
        result = await writer.write([*moved, *events[40:], *events[40:44]])
        assert (result.stored, result.duplicates) == (len(events) - 40, 14)
        assert await storage.query("SELECT count() FROM analytics_events") == [(len(events),)]
        for table in ("campaign_daily", "tenant_daily"):
            expected = daily_oracle(events, per_campaign=table == "campaign_daily")
            assert await read_daily(storage, table) == expected
        assert {day for *_, day in expected} == {"2026-02-28", "2026-03-01", "2026-03-02"}
