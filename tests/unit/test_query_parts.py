"""The small parts of the query layer: rates, range splitting and the SQL files."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from chanalytics.query.bounds import (
    Cover,
    covering,
    has_partial_days,
    has_raw_edges,
    range_params,
)
from chanalytics.query.buckets import BucketGrid, LocalBuckets
from chanalytics.query.message_totals import days_in_buckets
from chanalytics.query.rates import mean_percent, percent
from chanalytics.query.request import utc_text
from chanalytics.query.statements import branches, statement
from chanalytics.query.timerange import Granularity, TimeWindow

# Every fragment a statement can be given: each granularity's local-clock SQL and the grid.
BUCKET_VARIANTS: list[LocalBuckets] = [
    *(LocalBuckets(granularity, [], None) for granularity in Granularity),
    LocalBuckets(Granularity.HOUR, [], BucketGrid(3600, 0)),
]



def _window(start: str, end: str) -> TimeWindow:
    return TimeWindow(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end),
                      tz=ZoneInfo("UTC"), tz_name="UTC")


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


class TestRangeParams:
    def test_aligned_window_is_all_rollup(self) -> None:
        """A window on 15-minute edges reads no raw slice."""
        p = range_params("t", _window("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"))
        assert (p["mid_start"], p["mid_end"]) == (p["start"], p["end"])
        assert p["head_end"] == p["start"] and p["tail_start"] == p["end"]

    def test_unaligned_edges_are_raw(self) -> None:
        """The partial first and last quarter-hours are raw slices; whole ones are rollup."""
        p = range_params("t", _window("2026-03-01T00:07:13.250+00:00",
                                      "2026-03-01T09:52:41.123456+00:00"))
        assert p["start"] == _utc("2026-03-01T00:07:13.250")
        assert p["head_end"] == p["mid_start"] == _utc("2026-03-01T00:15:00")
        assert p["tail_start"] == p["mid_end"] == _utc("2026-03-01T09:45:00")
        # Events carry milliseconds: t < 41.123456 is t < 41.124 for them.
        assert p["end"] == _utc("2026-03-01T09:52:41.124")

    def test_window_inside_one_quarter_is_all_raw(self) -> None:
        """No whole quarter-hour inside: the rollup part is empty, the raw part is everything."""
        for start, end in (("00:01", "00:14"), ("00:10", "00:20"), ("00:10", "00:15")):
            p = range_params("t", _window(f"2026-03-01T{start}:00+00:00",
                                          f"2026-03-01T{end}:00+00:00"))
            assert p["mid_start"] == p["mid_end"]
            assert (p["head_end"], p["tail_start"]) == (p["end"], p["end"])

    def test_whole_utc_days_of_the_interior(self) -> None:
        """Kathmandu's local days start at 18:15 UTC: the whole UTC days between are the
        daily part; the 15-minute part keeps the partial days at both ends."""
        p = range_params("t", _window("2026-03-01T00:00:00+05:45", "2026-03-04T00:00:00+05:45"))
        assert p["mid_start"] == _utc("2026-02-28T18:15:00")
        assert p["day_start"] == _utc("2026-03-01T00:00")
        assert p["day_end"] == _utc("2026-03-03T00:00")
        assert (p["first_day"], p["end_day"]) == (date(2026, 3, 1), date(2026, 3, 3))
        assert p["mid_end"] == _utc("2026-03-03T18:15:00")

    def test_no_whole_day_leaves_the_daily_part_empty(self) -> None:
        """Less than a whole UTC day inside: the daily part is empty and at the interior's end,
        so the 15-minute part is the whole interior."""
        p = range_params("t", _window("2026-03-01T06:00:00+00:00", "2026-03-02T05:00:00+00:00"))
        assert p["day_start"] == p["day_end"] == p["mid_end"] == _utc("2026-03-02T05:00:00")
        assert p["first_day"] == p["end_day"]

    @pytest.mark.parametrize(("start", "end", "edges"), [
        ("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", False),
        ("2026-03-01T00:00:00+05:45", "2026-03-02T00:00:00+05:45", False),
        ("2026-03-01T00:07:00+00:00", "2026-03-02T00:00:00+00:00", True),
        ("2026-03-01T00:00:00+00:00", "2026-03-01T10:00:00.5+00:00", True),
        ("2026-03-01T00:01:00+00:00", "2026-03-01T00:14:00+00:00", True),
    ])
    def test_raw_edges_only_off_the_grid(self, start: str, end: str, edges: bool) -> None:
        assert has_raw_edges(range_params("t", _window(start, end))) is edges

    @pytest.mark.parametrize(("start", "end", "partial"), [
        ("2026-03-01T00:00:00+00:00", "2026-03-03T00:00:00+00:00", False),
        ("2026-03-01T00:00:00+01:00", "2026-03-03T00:00:00+01:00", True),
        ("2026-03-01T00:07:00+00:00", "2026-03-02T00:00:00+00:00", True),
        ("2026-03-01T00:00:00+00:00", "2026-03-02T00:14:00+00:00", False),
        ("2026-03-01T01:00:00+00:00", "2026-03-01T05:00:00+00:00", True),
    ])
    def test_partial_days_only_off_the_day_grid(self, start: str, end: str, partial: bool) -> None:
        """The 15-minute interior reaches past its whole UTC days (raw edges aside)."""
        assert has_partial_days(range_params("t", _window(start, end))) is partial

    def test_tenant_and_zone_are_bound(self) -> None:
        """The tenant and zone travel as parameters, never in the SQL text."""
        window = TimeWindow(start=_utc("2026-03-01T00:00:00"), end=_utc("2026-03-02T00:00:00"),
                            tz=ZoneInfo("Asia/Kathmandu"), tz_name="Asia/Kathmandu")
        p = range_params("tenant'x", window)
        assert (p["tenant"], p["tz"]) == ("tenant'x", "Asia/Kathmandu")


class TestCovering:
    """A window widened to whole buckets, or on to its last UTC day's end."""

    P = range_params("t", _window("2026-03-01T09:52:30+00:00", "2026-03-03T10:07:00+00:00"))

    def test_exact_is_the_window(self) -> None:
        assert covering(self.P, Cover.EXACT) == self.P

    def test_buckets_hold_the_window_without_raw_slices(self) -> None:
        p = covering(self.P, Cover.BUCKETS)
        assert p["mid_start"] == _utc("2026-03-01T09:45")
        assert p["mid_end"] == _utc("2026-03-03T10:15")
        assert not has_raw_edges(p) and (p["start"], p["end"]) == (self.P["start"], self.P["end"])
        assert p["day_start"] == _utc("2026-03-02T00:00")
        assert p["day_end"] == _utc("2026-03-03T00:00")
        assert (p["spill_start"], p["quarter_end"], p["spill_end"]) == (
            _utc("2026-03-01T09:45"), _utc("2026-03-03T10:15"), _utc("2026-03-03T10:15"))

    def test_day_end_reads_the_last_day_whole(self) -> None:
        p = covering(self.P, Cover.DAY_END)
        assert p["mid_end"] == p["day_end"] == p["spill_end"] == _utc("2026-03-04T00:00")
        assert p["quarter_end"] == _utc("2026-03-03T10:15")
        assert p["end_day"] == date(2026, 3, 4) and not has_raw_edges(p)

    def test_a_widened_edge_bucket_at_midnight_adds_its_day(self) -> None:
        p = covering(range_params("t", _window("2026-03-01T00:07:00+00:00",
                                               "2026-03-02T23:52:00+00:00")), Cover.BUCKETS)
        assert p["day_start"] == _utc("2026-03-01T00:00")
        assert p["day_end"] == _utc("2026-03-03T00:00")


class TestStatements:
    NAMES = sorted(p.name.removesuffix(".sql")
                   for p in resources.files("chanalytics.query").joinpath("sql").iterdir()
                   if p.name.endswith(".sql"))

    def test_files_ship_in_the_package(self) -> None:
        """The SQL is package data, loaded with importlib.resources."""
        assert {"message_counts", "distinct_counts", "traffic", "campaign_counts",
                "workflow_counts", "sequence_counts", "sequence_replies",
                "sequence_active", "template_counts", "entity_names"} <= set(self.NAMES)

    @pytest.mark.parametrize("name", NAMES)
    def test_values_are_only_bound_parameters(self, name: str) -> None:
        """Every brace in a statement is a `{name:Type}` parameter; the tenant is always bound."""
        variants: list[LocalBuckets | None] = BUCKET_VARIANTS if self._bucketed(name) else [None]
        for buckets in variants:
            sql = statement(name, buckets)
            assert "__LOCAL_BUCKET__" not in sql
            braces = re.findall(r"\{[^}]*\}", sql)
            assert braces
            assert all(re.fullmatch(r"\{[a-z_]+:[A-Za-z0-9(), ']+\}", b) for b in braces), braces
            assert "{tenant:String}" in sql

    @staticmethod
    def _bucketed(name: str) -> bool:
        try:
            statement(name)
        except ValueError:
            return True
        return False

    @pytest.mark.parametrize("name", NAMES)
    def test_optional_branches_can_be_left_out(self, name: str) -> None:
        """A window on the grid of whole UTC days, without a campaign filter or a series,
        leaves every optional branch out but the daily key chains' totals: no raw table
        read, and the statement
        still parses as one query (balanced parentheses, its rollup branches intact).
        Without parameters it is the file."""
        buckets = BUCKET_VARIANTS[0] if self._bucketed(name) else None
        full = statement(name, buckets)
        window = range_params("t", _window("2026-03-01T00:00:00+00:00",
                                           "2026-03-03T00:00:00+00:00"))
        params = {**window, "campaign_id": "", "workflow_id": "",
                  "daily_start": window["day_start"], "daily_end": window["day_end"],
                  "series_level": "", "series_daily": False}
        lean = statement(name, buckets, params)
        assert branches(name) or full == lean
        assert "analytics_events" not in lean
        assert all(f"-- <{b}>" not in lean for b in branches(name) - {"daily-totals"})
        assert lean.count("(") == lean.count(")")
        assert "{tenant:String}" in lean

    @pytest.mark.parametrize("name", NAMES)
    def test_every_marked_branch_is_known(self, name: str) -> None:
        """Each `-- <branch>` marker in a file names a branch the code decides on."""
        marked = set(re.findall(r"-- <([a-z-]+)>", statement(name, BUCKET_VARIANTS[0]
                                                             if self._bucketed(name) else None)))
        assert marked - {"union"} == set(branches(name))

    def test_first_branch_kept_in_a_union_opens_no_union(self) -> None:
        """Whichever distinct-count parts are left out, the statement starts its union
        with a SELECT: whole days only, edge buckets only, raw slices only."""
        base = {"series_level": "", "series_daily": False, "campaign_id": ""}
        cases = {
            "days": range_params("t", _window("2026-03-01T00:00:00+00:00",
                                              "2026-03-03T00:00:00+00:00")),
            "buckets": range_params("t", _window("2026-03-01T06:00:00+00:00",
                                                 "2026-03-01T09:00:00+00:00")),
            "slices": range_params("t", _window("2026-03-01T06:01:00+00:00",
                                                "2026-03-01T06:14:00+00:00")),
        }
        for case, window in cases.items():
            whole = window["mid_start"] == window["day_start"] and window["day_start"] < window[
                "day_end"]
            params = {**base, **window,
                      "daily_start": window["day_start"] if whole else window["mid_end"],
                      "daily_end": window["day_end"] if whole else window["mid_end"]}
            sql = statement("distinct_counts", BUCKET_VARIANTS[0], params)
            after = sql.split("-- <union>", 1)[1].split("\n", 1)[1]
            first = next(line.strip() for line in after.splitlines()
                         if line.strip() and not line.strip().startswith("--"))
            assert first.startswith("SELECT"), (case, first)
            unions = [line for line in after.splitlines() if line.strip() == "UNION ALL"]
            assert len(unions) == len(re.findall(r"-- <[a-z-]+>", after)) - 1, case

    def test_campaign_filter_keeps_its_series_branch(self) -> None:
        params = {**range_params("t", _window("2026-03-01T00:00:00+00:00",
                                              "2026-03-03T00:00:00+00:00")), "campaign_id": "c1"}
        sql = statement("campaign_counts", BUCKET_VARIANTS[0], params)
        assert "campaign_id = {campaign_id:String}\n      AND event_type IN" in sql
        assert "<partial-days>" not in sql and "analytics_events" not in sql

    def test_granularity_is_required_exactly_where_a_series_is_grouped(self) -> None:
        """A statement with a local bucket needs buckets; one without refuses them."""
        with pytest.raises(ValueError, match="buckets are required"):
            statement("message_counts")
        with pytest.raises(ValueError, match="no local bucket"):
            statement("entity_names", BUCKET_VARIANTS[0])


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


class TestDaysInBuckets:
    """Daily message counts added up into whole-day buckets (message_totals.by_day)."""

    def test_weeks_hold_their_days(self) -> None:
        weeks = [datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)]
        rows = [("email", date(2026, 1, 6), "message_sent", 2),
                ("email", date(2026, 1, 13), "message_opened", 5),  # an event, not counted
                ("sms", date(2026, 1, 11), "message_delivered", 1)]
        by_channel, by_bucket = 0b01, 0b10
        first, second = (int(w.timestamp()) for w in weeks)
        assert sorted(days_in_buckets(rows, weeks)) == [
            (by_channel, "email", 0, 7, 2, 0, 0, 0, 0, 0),
            (by_channel, "sms", 0, 1, 0, 1, 0, 0, 0, 0),
            (by_bucket, "", first, 3, 2, 1, 0, 0, 0, 0),
            (by_bucket, "", second, 5, 0, 0, 0, 0, 0, 0),
        ]

    def test_only_buckets_of_whole_utc_days_take_daily_rows(self) -> None:
        midnight = datetime(2026, 1, 5, tzinfo=UTC)
        assert LocalBuckets(Granularity.DAY, [midnight], None).utc_days
        assert LocalBuckets(Granularity.WEEK, [midnight], None).utc_days
        assert not LocalBuckets(Granularity.HOUR, [midnight], None).utc_days
        berlin = datetime(2026, 1, 5, tzinfo=ZoneInfo("Europe/Berlin"))
        assert not LocalBuckets(Granularity.DAY, [midnight, berlin], None).utc_days
