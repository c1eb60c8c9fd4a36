"""When a window's buckets form a fixed UTC grid, and the grid they form."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chanalytics.query.buckets import BUCKET_SQL, GRID_BUCKET_SQL, BucketGrid, local_buckets
from chanalytics.query.clock import Granularity, TimeWindow


def _window(zone: str, start: str, end: str) -> TimeWindow:
    tz = ZoneInfo(zone)
    return TimeWindow(
        start=datetime.fromisoformat(start).replace(tzinfo=tz).astimezone(UTC),
        end=datetime.fromisoformat(end).replace(tzinfo=tz).astimezone(UTC),
        tz=tz, tz_name=zone,
    )


class TestBucketGrid:
    @pytest.mark.parametrize(("zone", "granularity", "start", "end", "grid"), [
        ("UTC", Granularity.HOUR, "2026-01-01", "2026-07-01", BucketGrid(3600, 0)),
        ("UTC", Granularity.DAY, "2026-01-01", "2026-12-31", BucketGrid(86400, 0)),
        # Monday 2025-12-29 00:00 UTC is 4 days past a multiple of 7 days from the epoch.
        ("UTC", Granularity.WEEK, "2026-01-01", "2026-12-31", BucketGrid(604800, 4 * 86400)),
        # +05:45: the local hour begins at :15 UTC, the day at 18:15 UTC.
        ("Asia/Kathmandu", Granularity.HOUR, "2026-01-01", "2026-02-01", BucketGrid(3600, 900)),
        ("Asia/Kathmandu", Granularity.DAY, "2026-01-01", "2026-02-01", BucketGrid(86400, 65700)),
        # Whole-hour DST changes keep the hour grid, even across the change.
        ("Europe/Berlin", Granularity.HOUR, "2026-03-01", "2026-04-01", BucketGrid(3600, 0)),
        ("America/St_Johns", Granularity.HOUR, "2026-03-01", "2026-04-01", BucketGrid(3600, 1800)),
        ("Europe/Berlin", Granularity.DAY, "2026-07-01", "2026-08-01", BucketGrid(86400, 79200)),
    ])
    def test_regular_windows_get_their_grid(
        self, zone: str, granularity: Granularity, start: str, end: str, grid: BucketGrid
    ) -> None:
        buckets = local_buckets(_window(zone, start, end), granularity)
        assert buckets.grid == grid
        assert buckets.sql == GRID_BUCKET_SQL
        assert buckets.params() == {"grid_step": grid.step, "grid_phase": grid.phase}

    @pytest.mark.parametrize(("zone", "granularity", "start", "end"), [
        # A 23-hour day inside the window.
        ("Europe/Berlin", Granularity.DAY, "2026-03-01", "2026-04-01"),
        # The window is one 25-hour day: its only bucket is longer than the grid step.
        ("Europe/Berlin", Granularity.DAY, "2026-10-25", "2026-10-26"),
        ("Europe/Berlin", Granularity.WEEK, "2026-03-01", "2026-05-01"),
        # Lord Howe moves its clock by 30 minutes: the hour phase changes.
        ("Australia/Lord_Howe", Granularity.HOUR, "2026-04-01", "2026-04-10"),
        ("UTC", Granularity.MONTH, "2026-01-01", "2026-12-31"),
    ])
    def test_irregular_windows_keep_the_local_clock_sql(
        self, zone: str, granularity: Granularity, start: str, end: str
    ) -> None:
        buckets = local_buckets(_window(zone, start, end), granularity)
        assert buckets.grid is None
        assert buckets.sql == BUCKET_SQL[granularity]
        assert buckets.params() == {}
