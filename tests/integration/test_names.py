"""Names read beside an endpoint's counts are the names a lookup by id finds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine

pytestmark = pytest.mark.clickhouse


def started(event_id: str, campaign: str, name: str | None, minute: int,
            tenant: str = "t1") -> AnalyticsRow:
    return AnalyticsRow(id=event_id, tenant_id=tenant, event_type="campaign_started",
                        entity_type="campaign", entity_id=campaign, campaign_id=campaign,
                        entity_name=name, occurred_at=datetime(2026, 3, 2, 10, minute, tzinfo=UTC))


async def test_all_names_agree_with_a_lookup_by_id(storage: Storage) -> None:
    await BatchWriter(storage, Metrics()).write([
        started("e1", "c1", "Spring", 1),
        started("e2", "c1", "Spring sale", 5),  # the later name wins
        started("e3", "c2", "Launch", 2),
        started("e4", "c3", None, 3),  # no name carried: not named
        started("e5", "c9", "Other tenant", 4, tenant="t2"),
    ])
    engine = Engine(storage)
    known = await engine.all_names("t1", "campaign")
    assert known == {"c1": "Spring sale", "c2": "Launch"}
    ids = ["c1", "c2", "c3", "c9"]
    expected = {"c1": "Spring sale", "c2": "Launch", "c3": None, "c9": None}
    assert await engine.latest_names("t1", "campaign", ids) == expected
    assert await engine.latest_names("t1", "campaign", ids, known) == expected
    assert await engine.latest_names("t1", "campaign", []) == {}


async def test_too_many_names_are_left_to_the_lookup_by_id(storage: Storage) -> None:
    await BatchWriter(storage, Metrics()).write([
        started("e1", "c1", "One", 1), started("e2", "c2", "Two", 2)])
    engine = Engine(storage)
    assert await engine.all_names("t1", "campaign", limit=2) is not None
    assert await engine.all_names("t1", "campaign", limit=1) is None
    assert await engine.latest_names("t1", "campaign", ["c2"], None) == {"c2": "Two"}
