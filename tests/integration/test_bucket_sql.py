"""ClickHouse's bucket SQL agrees with Python's bucket_of on every rollup instant of 2026."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chanalytics.clickhouse.storage import Storage
from chanalytics.query.buckets import BUCKET_SQL, GRID_BUCKET_SQL, local_buckets
from chanalytics.query.clock import Granularity, TimeWindow, bucket_of

pytestmark = [pytest.mark.clickhouse, pytest.mark.once]

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tehran",
    # Falls back from 03:45 to 02:45, into the previous hour.
    "Pacific/Chatham",
]
YEAR_START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
YEAR_END = int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())
QUARTER_HOUR = 900


@pytest.fixture(scope="module")
def client(clickhouse_dsn: str) -> Iterator[Storage]:
    """The session's engine (chDB allows one engine path per process), a database of its own."""
    store = Storage(clickhouse_dsn, "bucket_sql")
    store.connect()
    yield store
    store.close()


class TestZoneData:
    def test_python_and_clickhouse_use_the_same_tz_release(self, client: Storage) -> None:
        """Python's zone rules (the pinned tzdata package) are ClickHouse's release."""
        import tzdata

        rows = client.query_sync(
            "SELECT value FROM system.build_options WHERE name = 'TZDATA_VERSION'")
        if not rows:
            pytest.skip("this ClickHouse does not report its tzdata release")
        assert rows[0][0] == tzdata.IANA_VERSION


class TestBucketSql:
    @pytest.mark.parametrize("granularity", list(Granularity))
    @pytest.mark.parametrize("zone", ZONES)
    def test_sql_matches_python_for_every_quarter_hour_of_2026(
        self, client: Storage, zone: str, granularity: Granularity
    ) -> None:
        """Every 15-minute UTC instant of 2026 lands in the same bucket in SQL and Python."""
        instants = "range({first:UInt32}, {stop:UInt32}, {step:UInt32})"
        # BUCKET_SQL is a constant fragment; every value is bound, none formatted in.
        query = (
            f"SELECT toUnixTimestamp(bucket), {BUCKET_SQL[granularity]} "  # noqa: S608
            f"FROM (SELECT toDateTime(arrayJoin({instants}), 'UTC') AS bucket) ORDER BY bucket"
        )
        rows = client.query_sync(
            query,
            {"tz": zone, "first": YEAR_START, "stop": YEAR_END, "step": QUARTER_HOUR},
        )
        tz = ZoneInfo(zone)
        assert len(rows) == (YEAR_END - YEAR_START) // QUARTER_HOUR
        mismatches = []
        for instant, got in rows:
            want = bucket_of(datetime.fromtimestamp(instant, UTC), tz, granularity)
            if got != int(want.timestamp()):
                mismatches.append((datetime.fromtimestamp(instant, UTC), want))
        assert not mismatches, f"{len(mismatches)} instants disagree; first: {mismatches[:3]}"


class TestGridSql:
    @pytest.mark.parametrize("granularity", [Granularity.HOUR, Granularity.DAY, Granularity.WEEK])
    @pytest.mark.parametrize("zone", ZONES)
    def test_grid_matches_python_in_every_window_that_has_one(
        self, client: Storage, zone: str, granularity: Granularity
    ) -> None:
        """In each month of 2026 (and each 2-month span, for weeks) with a grid, SQL's
        grid bucket of every quarter-hour is Python's bucket."""
        tz = ZoneInfo(zone)
        months = [datetime(2026, m, 1, tzinfo=tz).astimezone(UTC) for m in range(1, 13)]
        months.append(datetime(2027, 1, 1, tzinfo=tz).astimezone(UTC))
        span = 2 if granularity == Granularity.WEEK else 1
        query = (
            f"SELECT toUnixTimestamp(bucket), {GRID_BUCKET_SQL} FROM (SELECT toDateTime("  # noqa: S608
            "arrayJoin(range({first:UInt32}, {stop:UInt32}, 900)), 'UTC') AS bucket)"
        )
        grids = 0
        for start, end in zip(months, months[span:], strict=False):
            window = TimeWindow(start=start, end=end, tz=tz, tz_name=zone)
            buckets = local_buckets(window, granularity)
            if buckets.grid is None:
                continue
            grids += 1
            first = int(start.timestamp()) // 900 * 900
            rows = client.query_sync(
                query, {"first": first, "stop": int(end.timestamp()), **buckets.params()})
            for instant, got in rows:
                want = bucket_of(datetime.fromtimestamp(instant, UTC), tz, granularity)
                assert got == int(want.timestamp()), (zone, granularity, instant)
        assert grids > 0 or (zone, granularity) in {("Australia/Lord_Howe", Granularity.HOUR)}
