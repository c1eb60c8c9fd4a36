"""A window off the 15-minute grid is widened, and skips its raw slices, only when that
adds no event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chanalytics.ingest.writer import BatchWriter
from chanalytics.metrics import Metrics
from chanalytics.query.bounds import Cover
from chanalytics.query.edges import answer_settled
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import parse_window
from chanalytics.rows import AnalyticsRow
from chanalytics.storage import Storage

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)  # inside the bucket 10:00-10:15


def request(time_range: str = "1d") -> QueryRequest:
    window = parse_window(time_range=time_range, start_date=None, end_date=None,
                          timezone="UTC", default_range="7d", now=NOW)
    return QueryRequest(tenant_id="t1", window=window)


def sent(event_id: str, at: datetime) -> AnalyticsRow:
    return AnalyticsRow(id=event_id, tenant_id="t1", event_type="message_sent",
                        entity_type="message", entity_id=event_id, channel="email",
                        occurred_at=at)


class Recorder:
    """A stand-in for an endpoint's query service: records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[QueryRequest] = []

    async def run(self, asked: QueryRequest) -> Cover:
        self.asked.append(asked)
        return asked.cover


async def test_window_ending_now_reads_to_the_day_end_until_an_event_lies_after_now(
    storage: Storage,
) -> None:
    writer = BatchWriter(storage, Metrics())
    await writer.write([sent("before", datetime(2026, 3, 2, 10, 1, tzinfo=UTC))])
    recorder = Recorder()
    assert await answer_settled(storage, request(), recorder.run) is Cover.DAY_END
    assert len(recorder.asked) == 1
    widest = recorder.asked[0].params()
    assert widest["mid_end"] == widest["day_end"] == datetime(2026, 3, 3, tzinfo=UTC)
    assert widest["tail_start"] == widest["end"]  # no raw slice
    # another tenant's event after now changes nothing for t1
    other = AnalyticsRow(id="other", tenant_id="t2", event_type="message_sent",
                         entity_type="message", entity_id="o", channel="sms",
                         occurred_at=datetime(2026, 3, 2, 10, 9, tzinfo=UTC))
    await writer.write([other])
    assert await answer_settled(storage, request(), recorder.run) is Cover.DAY_END
    # an event of t1 later that day, after now's bucket: whole buckets, not the whole day
    await writer.write([sent("later", datetime(2026, 3, 2, 18, 0, tzinfo=UTC))])
    recorder = Recorder()
    assert await answer_settled(storage, request(), recorder.run) is Cover.BUCKETS
    assert [r.cover for r in recorder.asked] == [Cover.DAY_END, Cover.BUCKETS]
    assert recorder.asked[-1].params()["mid_end"] == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    # an event of t1 after now, in now's bucket: the exact window, with its raw slice
    await writer.write([sent("after", datetime(2026, 3, 2, 10, 9, tzinfo=UTC))])
    recorder = Recorder()
    assert await answer_settled(storage, request(), recorder.run) is Cover.EXACT
    assert [r.cover for r in recorder.asked] == [Cover.DAY_END, Cover.EXACT]
    exact = recorder.asked[-1].params()
    assert exact["tail_start"] < exact["end"]


async def test_window_ending_on_the_grid_is_not_taken_to_the_day_end(storage: Storage) -> None:
    """Only the start is off the grid: whole buckets, without the evening after the end."""
    await BatchWriter(storage, Metrics()).write([
        sent("evening", datetime(2026, 3, 2, 22, 30, tzinfo=UTC))])
    window = parse_window(time_range=None, start_date="2026-03-02T09:07:00Z",
                          end_date="2026-03-02T20:00:00Z", timezone="UTC",
                          default_range="7d", now=NOW)
    recorder = Recorder()
    asked = QueryRequest(tenant_id="t1", window=window)
    assert await answer_settled(storage, asked, recorder.run) is Cover.BUCKETS
    assert len(recorder.asked) == 1


async def test_window_on_the_grid_is_answered_as_it_is(storage: Storage) -> None:
    window = parse_window(time_range=None, start_date="2026-03-01", end_date="2026-03-01",
                          timezone="UTC", default_range="7d", now=NOW)
    grid = QueryRequest(tenant_id="t1", window=window)
    recorder = Recorder()
    await answer_settled(storage, grid, recorder.run)
    assert recorder.asked == [grid]
