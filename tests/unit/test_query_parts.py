"""The small parts of the query layer: rates, instants as text, whole-day buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chanalytics.localtime import utc_text
from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.clock import Granularity
from chanalytics.query.rates import mean_percent, percent


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TestRates:
    @pytest.mark.parametrize(("part", "whole", "expected"), [
        (1, 3, 33.33), (2, 3, 66.67), (1, 8, 12.5), (0, 5, 0.0), (5, 5, 100.0),
        (1, 800, 0.13),  # exactly 0.125: half up, not to even
        (1, 400_000, 0.0), (7, 0, 0.0), (0, 0, 0.0),
    ])
    def test_percent_rounds_half_up_to_two_decimals(
        self, part: int, whole: int, expected: float
    ) -> None:
        """part / whole * 100, half up to 2 decimals, 0.0 for a zero denominator."""
        assert percent(part, whole) == expected

    def test_mean_rounds_only_at_the_end(self) -> None:
        """The mean of unrounded rates is rounded once; no rates give 0.0."""
        assert mean_percent([(1, 3), (2, 6), (1, 3)]) == 33.33
        assert mean_percent([(1, 20000), (1, 20000)]) == 0.01  # 0.005 exactly, up
        assert mean_percent([(1, 3), (0, 0)]) == 16.67  # a zero whole is a 0 rate
        assert mean_percent([(0, 0)]) == 0.0
        assert mean_percent([]) == 0.0


class TestUtcText:
    @pytest.mark.parametrize(("instant", "text"), [
        (_utc("2026-01-20T00:00:00"), "2026-01-20T00:00:00Z"),
        (_utc("2026-01-20T10:15:30.120"), "2026-01-20T10:15:30.120Z"),
        (_utc("2026-01-20T10:15:30.123456"), "2026-01-20T10:15:30.123456Z"),
        (datetime(2026, 1, 20, 12, tzinfo=ZoneInfo("Asia/Kathmandu")), "2026-01-20T06:15:00Z"),
        (_utc("2026-01-20T00:00:00") + timedelta(microseconds=1000), "2026-01-20T00:00:00.001Z"),
    ])
    def test_rfc3339_utc_with_z(self, instant: datetime, text: str) -> None:
        """UTC, `Z`, and a fraction only when the instant has one."""
        assert utc_text(instant) == text


class TestUtcDays:
    def test_only_buckets_of_whole_utc_days_take_daily_rows(self) -> None:
        midnight = datetime(2026, 1, 5, tzinfo=UTC)
        assert LocalBuckets(Granularity.DAY, [midnight], None).utc_days
        assert LocalBuckets(Granularity.WEEK, [midnight], None).utc_days
        assert not LocalBuckets(Granularity.HOUR, [midnight], None).utc_days
        berlin = datetime(2026, 1, 5, tzinfo=ZoneInfo("Europe/Berlin"))
        assert not LocalBuckets(Granularity.DAY, [midnight, berlin], None).utc_days
