"""The planner: how a window splits, and which table answers each part of it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.compiler import compile_statement
from chanalytics.query.engine import shared_statements
from chanalytics.query.errors import BadParameter
from chanalytics.query.measures import MEASURES, Family
from chanalytics.query.model import Filter, Query
from chanalytics.query.planner import Plan, Segment, plan, segments
from chanalytics.query.tables import CAMPAIGN_COUNTS, CAMPAIGN_KEYS, CAMPAIGN_MESSAGES, Grain


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(start: str, end: str, zone: str = "UTC") -> TimeWindow:
    return TimeWindow(start=utc(start), end=utc(end), tz=ZoneInfo(zone), tz_name=zone)


def query(measures: tuple[str, ...], *groupings: tuple[str, ...], zone: str = "UTC",
          start: str = "2026-03-01T00:00:00", end: str = "2026-03-31T00:00:00",
          filters: tuple[Filter, ...] = (),
          granularity: Granularity = Granularity.DAY) -> Query:
    return Query(tenant_id="t", window=window(start, end, zone), measures=measures,
                 groupings=groupings or ((),), filters=filters, granularity=granularity)


def tables(planned: Plan) -> list[dict[str, list[tuple[datetime, datetime]]]]:
    """Per statement: table name -> the ranges it answers."""
    return [{p.table.name: list(p.ranges) for p in s.parts} for s in planned.statements]


class TestSegments:
    def test_aligned_days_are_one_daily_segment(self) -> None:
        """A window of whole UTC days is one daily segment."""
        assert segments(utc("2026-03-01T00:00:00"), utc("2026-03-03T00:00:00")) == [
            Segment(Grain.DAY, utc("2026-03-01T00:00:00"), utc("2026-03-03T00:00:00"))]

    def test_unaligned_window_has_five_segments(self) -> None:
        """Raw edges off the 15-minute grid, quarter stretches to the UTC midnights."""
        got = segments(utc("2026-03-01T10:07:00"), utc("2026-03-03T08:20:30.5"))
        assert [(s.grain, s.start, s.end) for s in got] == [
            (Grain.RAW, utc("2026-03-01T10:07:00"), utc("2026-03-01T10:15:00")),
            (Grain.QUARTER, utc("2026-03-01T10:15:00"), utc("2026-03-02T00:00:00")),
            (Grain.DAY, utc("2026-03-02T00:00:00"), utc("2026-03-03T00:00:00")),
            (Grain.QUARTER, utc("2026-03-03T00:00:00"), utc("2026-03-03T08:15:00")),
            (Grain.RAW, utc("2026-03-03T08:15:00"), utc("2026-03-03T08:20:30.500")),
        ]

    def test_window_inside_one_quarter_is_raw(self) -> None:
        """No whole 15-minute bucket: all raw."""
        got = segments(utc("2026-03-01T10:01:00"), utc("2026-03-01T10:14:00"))
        assert [s.grain for s in got] == [Grain.RAW]

    def test_instants_round_up_to_milliseconds(self) -> None:
        """Events are stored to the millisecond; bounds round up to keep `t >= start`."""
        got = segments(utc("2026-03-01T10:00:00.0001"), utc("2026-03-01T10:00:00.0009"))
        assert got == []


class TestTableChoice:
    def test_utc_days_read_the_daily_rollup(self) -> None:
        """Counts over whole UTC days come from the daily message rollup alone."""
        assert tables(plan(query(("sent", "delivered"), (), ("channel",)))) == [
            {"message_counts_1d": [(utc("2026-03-01T00:00:00"), utc("2026-03-31T00:00:00"))]}]

    def test_distinct_counts_have_a_statement_of_their_own(self) -> None:
        """Keys and counts come from different tables: two statements."""
        planned = plan(query(("sent", "opened")))
        assert [s.family for s in planned.statements] == [Family.COUNTS, Family.KEYS]
        assert list(tables(planned)[1]) == ["distinct_keys_1d"]

    def test_a_local_day_series_reads_quarters(self) -> None:
        """Kolkata days cut UTC days: the series reads 15-minute rows throughout."""
        planned = plan(query(("sent",), ("time",), zone="Asia/Kolkata",
                             start="2026-02-28T18:30:00", end="2026-03-30T18:30:00"))
        assert tables(planned) == [{"message_counts_15m": [
            (utc("2026-02-28T18:30:00"), utc("2026-03-30T18:30:00"))]}]

    def test_a_local_day_total_still_reads_days(self) -> None:
        """Without a series the same Kolkata window reads whole UTC days from the daily
        rollup and only the evenings at its ends from the 15-minute one."""
        planned = plan(query(("sent",), zone="Asia/Kolkata",
                             start="2026-02-28T18:30:00", end="2026-03-30T18:30:00"))
        assert tables(planned) == [{
            "message_counts_1d": [(utc("2026-03-01T00:00:00"), utc("2026-03-30T00:00:00"))],
            "message_counts_15m": [(utc("2026-02-28T18:30:00"), utc("2026-03-01T00:00:00")),
                                   (utc("2026-03-30T00:00:00"), utc("2026-03-30T18:30:00"))],
        }]

    def test_per_template_partial_days_come_from_the_raw_table(self) -> None:
        """No 15-minute table per template: partial days are a raw range read."""
        planned = plan(query(("sent",), ("template",), start="2026-03-01T06:00:00",
                             end="2026-03-04T12:00:00"))
        assert tables(planned) == [{
            "analytics_events": [(utc("2026-03-01T06:00:00"), utc("2026-03-02T00:00:00")),
                                 (utc("2026-03-04T00:00:00"), utc("2026-03-04T12:00:00"))],
            "entity_message_counts_1d": [(utc("2026-03-02T00:00:00"),
                                          utc("2026-03-04T00:00:00"))],
        }]

    def test_implied_filter_admits_the_campaign_series_rollup(self) -> None:
        """Only a query that keeps campaign messages alone may read the rollup made of them."""
        series = ("sent",), ("time",)
        hour = Granularity.HOUR
        campaign = plan(query(*series, filters=(CAMPAIGN_MESSAGES,), granularity=hour))
        everything = plan(query(*series, granularity=hour))
        assert list(tables(campaign)[0]) == ["campaign_message_counts_15m"]
        assert list(tables(everything)[0]) == ["message_counts_15m"]

    def test_named_campaigns_are_read_raw_in_campaign_order(self) -> None:
        """A query that names its campaigns reads the raw table (its `by_campaign`
        projection) for the whole window, counts and keys; "no campaign" or all but some
        campaigns still read the rollups."""
        named = plan(query(("sent", "opened"), ("channel",),
                           filters=(Filter("campaign", "is", ("c1", "c2")),)))
        assert [list(t) for t in tables(named)] == [["analytics_events"]] * 2
        assert [p.table.pins for s in named.statements for p in s.parts] == ["campaign"] * 2
        for other in (Filter("campaign", "is", (None,)), Filter("campaign", "isNot", ("c1",))):
            assert list(tables(plan(query(("sent",), filters=(other,))))[0]) == [
                "entity_message_counts_1d"]

    def test_a_dimension_no_rollup_has_is_read_raw(self) -> None:
        """`country` is in no rollup: the whole window comes from the raw table."""
        assert list(tables(plan(query(("open_events",), ("country",))))[0]) == [
            "analytics_events"]

    def test_contacts_of_every_message_type_are_read_raw(self) -> None:
        """The key tables hold contacts of sends, opens and clicks only."""
        assert list(tables(plan(query(("contacts",))))[0]) == ["analytics_events"]

    def test_hour_of_day_never_reads_days(self) -> None:
        """A local hour splits every day."""
        assert list(tables(plan(query(("sent",), ("hourOfDay",))))[0]) == ["message_counts_15m"]

    def test_every_measure_has_a_plan(self) -> None:
        """Each catalogue measure is answered by some table, grouped by every dimension
        a rollup or the raw table has."""
        for name in MEASURES:
            groupings = ((), ("sequence",)) if name == "active_enrollments" else ((), ("time",))
            assert plan(query((name,), *groupings)).statements


class TestRejections:
    def test_unknown_measure(self) -> None:
        with pytest.raises(ValueError, match="unknown measure"):
            plan(query(("nope",)))

    def test_filter_on_a_clock_dimension(self) -> None:
        with pytest.raises(BadParameter) as error:
            plan(query(("sent",), filters=(Filter("hourOfDay", "is", ("3",)),)))
        assert error.value.field == "filters"


class TestSharedStatements:
    """`Engine.run_all`: the queries of one answer share a statement where it reads the same
    tables over the same ranges with the same filters."""

    @staticmethod
    def channels(zone: str = "UTC", start: str = "2026-03-01T00:00:00",
                 end: str = "2026-03-31T00:00:00") -> list[Plan]:
        """The three queries of GET /channels."""
        at = {"zone": zone, "start": start, "end": end}
        return [plan(q) for q in (
            query(("sent", "delivered", "latency"), ("channel",), ("channel", "provider"), **at),
            query(("failed_or_bounced",), ("channel", "provider", "errorCode"), **at),
            query(("sent", "failed", "latency"), ("time",), **at))]

    def test_same_tables_and_ranges_make_one_statement_per_family(self) -> None:
        plans = self.channels()
        assert sum(len(p.statements) for p in plans) == 5
        shared = shared_statements(plans)
        assert len(shared) == 2  # the counts, and the latency histograms
        counts, latency = shared
        assert counts[2] == {0, 1, 2} and latency[2] == {0, 2}
        assert [m.name for m in counts[0].measures] == [
            "sent", "delivered", "failed_or_bounced", "failed"]
        assert counts[1].query.groupings == (
            ("channel",), ("channel", "provider"), ("channel", "provider", "errorCode"),
            ("time",))
        sql = compile_statement(counts[0], counts[1]).sql
        assert "UNION ALL" not in sql  # one table: message_counts_1d
        assert "GROUPING SETS ((d0), (d0, d1), (d0, d1, d2), (d3))" in sql

    def test_a_series_of_local_days_reads_apart_from_the_daily_totals(self) -> None:
        """In Kolkata the series reads quarter hours, the totals whole UTC days: sharing a
        statement would make the totals read quarter hours too."""
        shared = shared_statements(self.channels("Asia/Kolkata", "2026-02-28T18:30:00",
                                                 "2026-03-30T18:30:00"))
        assert [sorted(users) for _, _, users in shared] == [[0, 1], [0], [2], [2]]

    def test_different_filters_or_distinct_measures_stay_apart(self) -> None:
        email = (Filter("channel", "is", ("email",)),)
        assert len(shared_statements([plan(query(("sent",), ("channel",))),
                                      plan(query(("sent",), ("time",), filters=email))])) == 2
        keys = [plan(query(("opened",), ("channel",))), plan(query(("clicked",), ("time",)))]
        assert len(shared_statements(keys)) == 2
        same = [plan(query(("opened",), ("channel",))), plan(query(("opened",), ("time",)))]
        assert len(shared_statements(same)) == 1

    def test_distinct_measures_of_named_campaigns_share_a_statement(self) -> None:
        """Over the campaigns' own rows a statement costs more than extra sets."""
        one = (Filter("campaign", "is", ("c1",)),)
        keys = [plan(query(("opened",), ("channel",), filters=one)),
                plan(query(("clicked",), ("time",), filters=one))]
        [(statement, _, users)] = shared_statements(keys)
        assert users == {0, 1}
        assert [m.name for m in statement.measures] == ["opened", "clicked"]


def test_the_campaign_projection_holds_every_column_the_raw_reads_use() -> None:
    """ClickHouse reads a projection only when it has every column a query needs; a column
    the raw tables read but `by_campaign` lacks would silently read the tenant's window."""
    schema = Path(__file__).resolve().parents[2] / "clickhouse" / "schema"
    raw = set(re.findall(r"^    (\w+) ", (schema / "0001_create_analytics_events.sql")
                         .read_text(), re.MULTILINE)) - {"INDEX"}
    select = (schema / "0049_add_analytics_events_by_campaign.sql").read_text()
    held = set(re.findall(r"\w+", select.split("SELECT", 1)[1].split("ORDER BY")[0]))
    read: set[str] = set()
    for table in (CAMPAIGN_COUNTS, CAMPAIGN_KEYS):
        texts = [*table.columns, *table.expressions.values(), table.array_join]
        read |= {word for text in texts for word in re.findall(r"\w+", text)} & raw
    assert "campaign_id" in read and "user_agent" in read
    assert read <= held, sorted(read - held)
