"""The flush policy: size or age, measured on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

from chanalytics.ingest.buffer import Batch, FlushPolicy
from chanalytics.mappers.rows import AnalyticsRow

ROW = AnalyticsRow(id="e", tenant_id="t", event_type="message_sent", entity_type="message",
                   entity_id="m", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestFlushPolicy:
    def test_empty_batch_is_never_due(self) -> None:
        """Nothing to store means no flush, however long it waits."""
        clock = FakeClock()
        batch, policy = Batch(clock), FlushPolicy(max_size=3, max_age=1.0)
        clock.now += 60
        assert not policy.due(batch)
        assert policy.wait_budget(batch) == 1.0

    def test_due_when_full(self) -> None:
        """A batch holding max_size messages is due at once."""
        clock = FakeClock()
        batch, policy = Batch(clock), FlushPolicy(max_size=3, max_age=1.0)
        for i in range(3):
            assert not policy.due(batch)
            batch.add(ROW, f"msg-{i}")
        assert policy.due(batch)

    def test_due_when_oldest_waited_max_age(self) -> None:
        """The age counts from the first message added, and the fetch budget shrinks with it."""
        clock = FakeClock()
        batch, policy = Batch(clock), FlushPolicy(max_size=100, max_age=1.0)
        batch.add(ROW, "first")
        clock.now += 0.4
        batch.add(ROW, "second")
        assert not policy.due(batch)
        assert abs(policy.wait_budget(batch) - 0.6) < 1e-9
        clock.now += 0.6
        assert policy.due(batch)
        assert policy.wait_budget(batch) == 0.0

    def test_age_counts_from_arrival(self) -> None:
        """A message that arrived before it was added (a fetch that waited on) ages
        from its arrival; an arrival stamp from the future counts as now."""
        clock = FakeClock()
        batch, policy = Batch(clock), FlushPolicy(max_size=100, max_age=1.0)
        batch.add(ROW, "first", arrived=clock.now - 0.7)
        assert abs(policy.wait_budget(batch) - 0.3) < 1e-9
        late = Batch(clock)
        late.add(ROW, "x", arrived=clock.now + 5)
        assert late.age() == 0.0
