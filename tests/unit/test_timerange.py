"""Time windows, timezones and buckets of the dashboard API."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chanalytics.query.clock import Granularity, TimeWindow, bucket_of, bucket_starts, local_date
from chanalytics.query.compare import Compare, previous_window
from chanalytics.query.errors import BadParameter
from chanalytics.query.timerange import parse_granularity, parse_timezone, parse_window

NOW = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
ST_JOHNS = ZoneInfo("America/St_Johns")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")
CHATHAM = ZoneInfo("Pacific/Chatham")
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Asia/Tehran",
    "Pacific/Chatham",
]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def window(
    *,
    time_range: str | None = None,
    start: str | None = None,
    end: str | None = None,
    tz: str | None = None,
    now: datetime = NOW,
) -> TimeWindow:
    return parse_window(
        time_range=time_range,
        start_date=start,
        end_date=end,
        timezone=tz,
        default_range="7d",
        now=now,
    )


def span(start: datetime, end: datetime, tz: ZoneInfo) -> TimeWindow:
    return TimeWindow(start=start, end=end, tz=tz, tz_name=tz.key)


def local_clock(instants: list[datetime], tz: ZoneInfo) -> list[str]:
    return [i.astimezone(tz).strftime("%H:%M%z") for i in instants]


def assert_bad(excinfo: pytest.ExceptionInfo[BadParameter], code: str, field: str) -> None:
    assert (excinfo.value.code, excinfo.value.field) == (code, field)


class TestParseTimezone:
    def test_absent_means_utc(self) -> None:
        """No timezone parameter reads the request in UTC."""
        assert parse_timezone(None) == ZoneInfo("UTC")

    @pytest.mark.parametrize("name", ["UTC", "Asia/Kathmandu", "America/St_Johns", "Etc/GMT+5"])
    def test_iana_names_are_accepted(self, name: str) -> None:
        """An IANA zone name gives that zone."""
        assert parse_timezone(name).key == name

    @pytest.mark.parametrize(("name", "key"), [("utc", "UTC"), ("Etc/UTC", "Etc/UTC"),
                                               ("europe/berlin", "Europe/Berlin"),
                                               ("ASIA/KATHMANDU", "Asia/Kathmandu")])
    def test_names_match_in_any_case(self, name: str, key: str) -> None:
        """As in the tz database, no two names differ only in case: any case names the zone."""
        assert parse_timezone(name).key == key

    def test_a_huge_name_is_not_echoed_back(self) -> None:
        with pytest.raises(BadParameter) as excinfo:
            parse_timezone("A" * 60_000)
        assert len(excinfo.value.message) < 200

    @pytest.mark.parametrize(
        "name",
        [
            "",
            " ",
            "Mars/Olympus_Mons",
            "../etc/passwd",
            "/etc/localtime",
            "Europe/../UTC",
            "Europe//Berlin",
            "localtime",
            "posixrules",
            "UTC\x00",
            "Europe/Berlin ",
            "A" * 200,
            "Ευρώπη/Αθήνα",
        ],
    )
    def test_unknown_or_path_like_names_are_rejected(self, name: str) -> None:
        """Unknown, empty and path-like names are a 400 on the timezone field."""
        with pytest.raises(BadParameter) as excinfo:
            parse_timezone(name)
        assert_bad(excinfo, "invalid_timezone", "timezone")

    @given(st.text(max_size=40))
    def test_any_text_gives_a_zone_or_bad_parameter(self, name: str) -> None:
        """No input makes parse_timezone raise anything but BadParameter."""
        try:
            parse_timezone(name)
        except BadParameter as exc:
            assert exc.field == "timezone"


class TestParseGranularity:
    def test_absent_gives_the_default(self) -> None:
        """No granularity parameter gives the endpoint's default."""
        assert parse_granularity(None, Granularity.HOUR) is Granularity.HOUR

    @pytest.mark.parametrize("value", ["hour", "day", "week", "month"])
    def test_each_name_is_accepted(self, value: str) -> None:
        """Each contract name maps to its granularity."""
        assert parse_granularity(value, Granularity.DAY) == value

    @pytest.mark.parametrize("value", ["", "Day", "minute", "year", "1h"])
    def test_other_values_are_rejected(self, value: str) -> None:
        """Anything else is a 400 on the granularity field."""
        with pytest.raises(BadParameter) as excinfo:
            parse_granularity(value, Granularity.DAY)
        assert_bad(excinfo, "invalid_granularity", "granularity")


class TestPresets:
    @pytest.mark.parametrize(
        ("preset", "start"),
        [
            ("1d", utc(2026, 3, 15)),
            ("7d", utc(2026, 3, 9)),
            ("30d", utc(2026, 2, 14)),
            ("90d", utc(2025, 12, 16)),
        ],
    )
    def test_presets_in_utc(self, preset: str, start: datetime) -> None:
        """Nd runs from UTC midnight N-1 days before today up to now."""
        got = window(time_range=preset)
        assert (got.start, got.end, got.tz_name) == (start, NOW, "UTC")

    @pytest.mark.parametrize(
        ("preset", "start"),
        [
            ("1d", utc(2026, 3, 14, 18, 15)),
            ("7d", utc(2026, 3, 8, 18, 15)),
            ("30d", utc(2026, 2, 13, 18, 15)),
            ("90d", utc(2025, 12, 15, 18, 15)),
        ],
    )
    def test_presets_in_kathmandu(self, preset: str, start: datetime) -> None:
        """Nd starts at Kathmandu midnight (+05:45), N-1 local days before today."""
        got = window(time_range=preset, tz="Asia/Kathmandu")
        assert (got.start, got.end, got.tz_name) == (start, NOW, "Asia/Kathmandu")

    def test_today_is_the_local_day(self) -> None:
        """Shortly after local midnight, today is already the next local date."""
        now = utc(2026, 3, 15, 20, 0)  # 01:45 on 16 March in Kathmandu
        assert window(time_range="1d", tz="Asia/Kathmandu", now=now).start == utc(
            2026, 3, 15, 18, 15
        )

    def test_default_range_applies_when_nothing_is_given(self) -> None:
        """Without timeRange or dates, the endpoint's default range is used."""
        assert window().start == utc(2026, 3, 9)

    def test_end_is_now_in_utc(self) -> None:
        """The window ends at now, expressed in UTC whatever zone now carried."""
        now = NOW.astimezone(BERLIN)
        got = window(time_range="1d", tz="Europe/Berlin", now=now)
        assert got.end == NOW and got.end.tzinfo is UTC
        assert got.start == utc(2026, 3, 14, 23)

    @pytest.mark.parametrize("preset", ["", "2d", "7D", "7", "1w", " 7d"])
    def test_unknown_presets_are_rejected(self, preset: str) -> None:
        """A timeRange outside 1d|7d|30d|90d is a 400 on the timeRange field."""
        with pytest.raises(BadParameter) as excinfo:
            window(time_range=preset)
        assert_bad(excinfo, "invalid_time_range", "timeRange")

    def test_dates_override_time_range(self) -> None:
        """startDate and endDate win over timeRange."""
        got = window(time_range="90d", start="2026-01-20", end="2026-01-21")
        assert (got.start, got.end) == (utc(2026, 1, 20), utc(2026, 1, 22))

    def test_naive_now_is_a_programming_error(self) -> None:
        """The clock handed in must carry a timezone."""
        with pytest.raises(ValueError):
            window(now=NOW.replace(tzinfo=None))


class TestExplicitDates:
    def test_dates_in_utc(self) -> None:
        """A date-only range runs from its first midnight to the midnight after its last day."""
        got = window(start="2026-01-20", end="2026-01-21")
        assert (got.start, got.end) == (utc(2026, 1, 20), utc(2026, 1, 22))

    def test_one_day(self) -> None:
        """startDate equal to endDate covers that single day."""
        got = window(start="2026-01-20", end="2026-01-20")
        assert got.end - got.start == timedelta(days=1)

    def test_dates_in_kathmandu(self) -> None:
        """Dates are read as Kathmandu midnights."""
        got = window(start="2026-01-20", end="2026-01-20", tz="Asia/Kathmandu")
        assert (got.start, got.end) == (utc(2026, 1, 19, 18, 15), utc(2026, 1, 20, 18, 15))

    def test_date_only_end_across_spring_forward(self) -> None:
        """The day of a spring-forward change lasts 23 hours."""
        got = window(start="2026-03-29", end="2026-03-29", tz="Europe/Berlin")
        assert (got.start, got.end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2026-01-20T10:00:00Z", utc(2026, 1, 20, 10)),
            ("2026-01-20t10:00:00z", utc(2026, 1, 20, 10)),
            ("2026-01-20 10:00:00Z", utc(2026, 1, 20, 10)),
            ("2026-01-20T10:00:00+05:30", utc(2026, 1, 20, 4, 30)),
            ("2026-01-20T10:00:00-03:30", utc(2026, 1, 20, 13, 30)),
            ("2026-01-20T10:00:00 05:30", utc(2026, 1, 20, 4, 30)),
            ("2026-01-20T10:00:00.5Z", utc(2026, 1, 20, 10, 0, 0, 500000)),
            ("2026-01-20T10:00:00.123456789Z", utc(2026, 1, 20, 10, 0, 0, 123456)),
        ],
    )
    def test_rfc3339_start(self, value: str, expected: datetime) -> None:
        """An RFC 3339 startDate is that instant, whatever the timezone parameter."""
        got = window(start=value, end="2026-02-01", tz="Asia/Kathmandu")
        assert got.start == expected and got.start.tzinfo is UTC

    def test_rfc3339_end_is_exclusive_as_given(self) -> None:
        """An RFC 3339 endDate is the exclusive end itself, not the next midnight."""
        got = window(start="2026-01-20", end="2026-01-21T06:00:00+01:00", tz="Europe/Berlin")
        assert (got.start, got.end) == (utc(2026, 1, 19, 23), utc(2026, 1, 21, 5))

    @pytest.mark.parametrize(
        ("tz", "day", "start"),
        [
            ("America/Santiago", "2026-09-06", utc(2026, 9, 6, 4)),
            ("America/Havana", "2025-03-09", utc(2025, 3, 9, 5)),
        ],
    )
    def test_midnight_in_a_dst_gap_is_the_first_instant_of_the_day(
        self, tz: str, day: str, start: datetime
    ) -> None:
        """Where clocks jump from midnight to 01:00, the day starts at the jump."""
        got = window(start=day, end=day, tz=tz)
        assert got.start == start
        assert got.start.astimezone(ZoneInfo(tz)).strftime("%d %H:%M") == f"{day[-2:]} 01:00"

    def test_repeated_midnight_is_the_first_one(self) -> None:
        """Where clocks fall back from 01:00 to midnight, the day starts at the first midnight."""
        # 2025, not 2026: tzdata releases disagree on Cuba's clocks from late 2026.
        got = window(start="2025-11-02", end="2025-11-02", tz="America/Havana")
        assert (got.start, got.end - got.start) == (utc(2025, 11, 2, 4), timedelta(hours=25))

    @pytest.mark.parametrize(("start", "end"), [("2026-01-20", None), (None, "2026-01-20")])
    def test_one_date_without_the_other_is_rejected(
        self, start: str | None, end: str | None
    ) -> None:
        """startDate and endDate come together; the missing one is the field in error."""
        with pytest.raises(BadParameter) as excinfo:
            window(time_range="7d", start=start, end=end)
        assert_bad(excinfo, "invalid_time_range", "endDate" if end is None else "startDate")

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-1-5",
            "20260120",
            "2026-01-20T10:00Z",
            "2026-01-20T25:00:00Z",
            "2026-01-20T10:00:60Z",
            "2026-01-20T10:00:00+24:00",
            "2026-01-20T10:00:00+0530",
            "2026-01-20T10:00:00Z ",
            "\uff12\uff10\uff12\uff16-01-20",  # fullwidth digits
            "0000-01-01",
        ],
    )
    @pytest.mark.parametrize("field", ["startDate", "endDate"])
    def test_malformed_dates_are_rejected(self, value: str, field: str) -> None:
        """A value that is neither YYYY-MM-DD nor RFC 3339 is a 400 on its own field."""
        dates = {"startDate": "2026-01-01", "endDate": "2026-01-31", field: value}
        with pytest.raises(BadParameter) as excinfo:
            window(start=dates["startDate"], end=dates["endDate"])
        assert_bad(excinfo, "invalid_date", field)

    @pytest.mark.parametrize("field", ["startDate", "endDate"])
    def test_datetime_without_offset_is_rejected(self, field: str) -> None:
        """A date-time without a UTC offset is ambiguous and a 400."""
        dates = {"startDate": "2026-01-01", "endDate": "2026-01-31", field: "2026-01-20T10:00:00"}
        with pytest.raises(BadParameter) as excinfo:
            window(start=dates["startDate"], end=dates["endDate"])
        assert_bad(excinfo, "invalid_date", field)

    @pytest.mark.parametrize(
        ("start", "end", "field"),
        [("1969-12-31", "1970-01-05", "startDate"), ("2105-12-01", "2106-01-01", "endDate")],
    )
    def test_dates_outside_clickhouse_datetime_are_rejected(
        self, start: str, end: str, field: str
    ) -> None:
        """Instants ClickHouse DateTime cannot hold are a 400 rather than a wrong answer."""
        with pytest.raises(BadParameter) as excinfo:
            window(start=start, end=end)
        assert_bad(excinfo, "invalid_date", field)

    def test_year_9999_end_date_is_rejected(self) -> None:
        """The day after 9999-12-31 does not overflow into a 500."""
        with pytest.raises(BadParameter) as excinfo:
            window(start="2026-01-01", end="9999-12-31")
        assert_bad(excinfo, "invalid_date", "endDate")

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            ("2026-01-20T10:00:00Z", "2026-01-20T10:00:00Z"),
            ("2026-01-20T10:00:00Z", "2026-01-20T11:00:00+01:00"),
            ("2026-01-21", "2026-01-20"),
            ("2026-01-21", "2026-01-20T23:59:59Z"),
        ],
    )
    def test_start_not_before_end_is_rejected(self, start: str, end: str) -> None:
        """An empty or reversed range is a 400."""
        with pytest.raises(BadParameter) as excinfo:
            window(start=start, end=end)
        assert_bad(excinfo, "invalid_time_range", "endDate")

    def test_400_days_are_allowed(self) -> None:
        """A range of exactly 400 days is accepted."""
        got = window(start="2026-01-01", end="2027-02-04")
        assert got.end - got.start == timedelta(days=400)

    def test_401_days_are_rejected(self) -> None:
        """A range of 401 days is a 400 with code range_too_long."""
        with pytest.raises(BadParameter) as excinfo:
            window(start="2026-01-01", end="2027-02-05")
        assert_bad(excinfo, "range_too_long", "endDate")

    def test_one_second_over_400_days_is_rejected(self) -> None:
        """The limit is exact for date-time bounds."""
        window(start="2026-01-01T00:00:00Z", end="2027-02-05T00:00:00Z")
        with pytest.raises(BadParameter) as excinfo:
            window(start="2026-01-01T00:00:00Z", end="2027-02-05T00:00:01Z")
        assert_bad(excinfo, "range_too_long", "endDate")

    def test_400_local_days_across_dst_are_allowed(self) -> None:
        """400 local days that hold an extra DST hour are still 400 days."""
        got = window(start="2025-10-01", end="2026-11-04", tz="Europe/Berlin")
        assert got.end - got.start == timedelta(days=400, hours=1)
        with pytest.raises(BadParameter) as excinfo:
            window(start="2025-10-01", end="2026-11-05", tz="Europe/Berlin")
        assert_bad(excinfo, "range_too_long", "endDate")

    def test_bad_timezone_is_reported_on_its_field(self) -> None:
        """An unknown timezone is a 400 on the timezone field."""
        with pytest.raises(BadParameter) as excinfo:
            window(start="2026-01-01", end="2026-01-02", tz="Nowhere/City")
        assert_bad(excinfo, "invalid_timezone", "timezone")


class TestBerlinDst:
    def test_spring_forward_day_has_23_hour_buckets(self) -> None:
        """On 2026-03-29 the missing 02:00 hour gives no bucket."""
        starts = bucket_starts(
            span(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), BERLIN), Granularity.HOUR
        )
        hours = [s.astimezone(BERLIN).hour for s in starts]
        assert len(starts) == 23
        assert hours == [0, 1, *range(3, 24)]
        assert starts[2] - starts[1] == timedelta(hours=1)

    def test_fall_back_day_has_25_hour_buckets(self) -> None:
        """On 2026-10-25 the repeated 02:00 hour gives two buckets."""
        starts = bucket_starts(
            span(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), BERLIN), Granularity.HOUR
        )
        assert len(starts) == 25
        assert local_clock(starts[2:4], BERLIN) == ["02:00+0200", "02:00+0100"]
        assert starts[3] == utc(2026, 10, 25, 1)

    def test_day_buckets_around_the_changes(self) -> None:
        """Day buckets start at local midnight and last 23 or 25 hours on change days."""
        spring = bucket_starts(
            window(start="2026-03-28", end="2026-03-30", tz="Europe/Berlin"), Granularity.DAY
        )
        fall = bucket_starts(
            window(start="2026-10-24", end="2026-10-26", tz="Europe/Berlin"), Granularity.DAY
        )
        assert spring == [utc(2026, 3, 27, 23), utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)]
        assert fall == [utc(2026, 10, 23, 22), utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)]

    def test_instants_of_the_repeated_hour_fall_in_their_own_bucket(self) -> None:
        """02:30 before and after the fall-back belong to different hour buckets."""
        first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)
        assert bucket_of(first, BERLIN, Granularity.HOUR) == utc(2026, 10, 25, 0)
        assert bucket_of(second, BERLIN, Granularity.HOUR) == utc(2026, 10, 25, 1)


class TestOddOffsets:
    def test_kathmandu_hours_start_at_quarter_past_utc(self) -> None:
        """At +05:45 each hour bucket starts at UTC :15."""
        starts = bucket_starts(
            span(utc(2026, 1, 1, 0), utc(2026, 1, 1, 6), KATHMANDU), Granularity.HOUR
        )
        assert starts[0] == utc(2025, 12, 31, 23, 15)
        assert len(starts) == 7
        assert {(s.minute, s.astimezone(KATHMANDU).minute) for s in starts} == {(15, 0)}

    def test_kathmandu_days_start_at_1815_utc(self) -> None:
        """Kathmandu midnight is 18:15 UTC the day before."""
        starts = bucket_starts(
            window(start="2026-01-01", end="2026-01-03", tz="Asia/Kathmandu"), Granularity.DAY
        )
        assert starts == [
            utc(2025, 12, 31, 18, 15),
            utc(2026, 1, 1, 18, 15),
            utc(2026, 1, 2, 18, 15),
        ]
        assert [local_date(s, KATHMANDU) for s in starts] == [
            "2026-01-01",
            "2026-01-02",
            "2026-01-03",
        ]

    def test_st_johns_hours_start_at_half_past_utc(self) -> None:
        """At -03:30 and -02:30 each hour bucket starts at UTC :30."""
        starts = bucket_starts(
            span(utc(2026, 1, 1, 0), utc(2026, 1, 1, 3), ST_JOHNS), Granularity.HOUR
        )
        assert starts == [utc(2025, 12, 31, 23, 30) + timedelta(hours=h) for h in range(4)]
        summer = bucket_starts(
            span(utc(2026, 7, 1, 0), utc(2026, 7, 1, 1), ST_JOHNS), Granularity.HOUR
        )
        assert summer == [utc(2026, 6, 30, 23, 30), utc(2026, 7, 1, 0, 30)]

    def test_st_johns_spring_forward(self) -> None:
        """St. John's 2026-03-08 has 23 hour buckets and its days start at 03:30 then 02:30 UTC."""
        day = window(start="2026-03-08", end="2026-03-08", tz="America/St_Johns")
        assert (day.start, day.end) == (utc(2026, 3, 8, 3, 30), utc(2026, 3, 9, 2, 30))
        assert len(bucket_starts(day, Granularity.HOUR)) == 23
        assert bucket_starts(day, Granularity.DAY) == [utc(2026, 3, 8, 3, 30)]

    def test_lord_howe_half_hour_fall_back_stretches_one_hour(self) -> None:
        """When Lord Howe falls back from 02:00 to 01:30, the 01:00 bucket lasts 90 minutes."""
        starts = bucket_starts(
            span(utc(2026, 4, 4, 14), utc(2026, 4, 4, 17), LORD_HOWE), Granularity.HOUR
        )
        assert starts == [utc(2026, 4, 4, 14), utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30)]
        assert local_clock(starts, LORD_HOWE) == ["01:00+1100", "02:00+1030", "03:00+1030"]

    def test_lord_howe_half_hour_spring_forward_starts_hour_at_the_jump(self) -> None:
        """When Lord Howe jumps from 02:00 to 02:30, hour 02 starts at 02:30."""
        starts = bucket_starts(
            span(utc(2026, 10, 3, 14, 30), utc(2026, 10, 3, 17), LORD_HOWE), Granularity.HOUR
        )
        assert local_clock(starts, LORD_HOWE) == ["01:00+1030", "02:30+1100", "03:00+1100"]

    def test_chatham_fall_back_into_the_previous_hour_starts_a_bucket(self) -> None:
        """When Chatham falls back from 03:45 to 02:45, a bucket starts at the second 02:45."""
        start, end = utc(2026, 4, 4, 12), utc(2026, 4, 4, 15, 30)
        starts = bucket_starts(span(start, end, CHATHAM), Granularity.HOUR)
        assert local_clock(starts, CHATHAM) == [
            "01:00+1345",
            "02:00+1345",
            "03:00+1345",
            "02:45+1245",
            "03:00+1245",
            "04:00+1245",
        ]
        assert starts[3] == utc(2026, 4, 4, 14)
        assert bucket_of(utc(2026, 4, 4, 14, 10), CHATHAM, Granularity.HOUR) == starts[3]

    def test_chatham_spring_forward_mid_hour(self) -> None:
        """When Chatham jumps from 02:45 to 03:45, hour 03 lasts fifteen minutes."""
        start, end = utc(2026, 9, 26, 13), utc(2026, 9, 26, 15)
        starts = bucket_starts(span(start, end, CHATHAM), Granularity.HOUR)
        assert local_clock(starts, CHATHAM) == [
            "01:00+1245",
            "02:00+1245",
            "03:45+1345",
            "04:00+1345",
        ]

    def test_santiago_day_starts_at_the_jump(self) -> None:
        """Santiago's day of the midnight jump starts at 01:00 local."""
        starts = bucket_starts(
            span(utc(2026, 9, 5, 12), utc(2026, 9, 6, 12), SANTIAGO), Granularity.DAY
        )
        assert starts == [utc(2026, 9, 5, 4), utc(2026, 9, 6, 4)]


class TestCoarseBuckets:
    def test_weeks_start_on_local_monday_midnight(self) -> None:
        """Week buckets start at Monday 00:00 local, the first one holding the window start."""
        starts = bucket_starts(
            window(start="2026-01-01", end="2026-01-31", tz="Asia/Kathmandu"), Granularity.WEEK
        )
        assert starts[0] == utc(2025, 12, 28, 18, 15)
        assert len(starts) == 5
        for start in starts:
            local = start.astimezone(KATHMANDU)
            assert (local.weekday(), local.hour, local.minute) == (0, 0, 0)

    def test_months_start_on_the_first_at_local_midnight(self) -> None:
        """Month buckets follow Berlin's offset: 23:00 UTC in winter, 22:00 UTC in summer."""
        starts = bucket_starts(
            window(start="2026-01-15", end="2026-12-31", tz="Europe/Berlin"), Granularity.MONTH
        )
        assert len(starts) == 12
        assert starts[0] == utc(2025, 12, 31, 23)
        assert starts[3] == utc(2026, 3, 31, 22)
        assert [local_date(s, BERLIN)[-2:] for s in starts] == ["01"] * 12

    def test_empty_window_has_no_buckets(self) -> None:
        """A preset taken exactly at midnight of its only day yields no buckets."""
        got = window(time_range="1d", now=utc(2026, 3, 15))
        assert bucket_starts(got, Granularity.HOUR) == []


class TestBucketLimit:
    def test_exactly_5000_buckets_are_allowed(self) -> None:
        """5,000 hour buckets are returned."""
        start = utc(2026, 1, 1)
        starts = bucket_starts(
            span(start, start + timedelta(hours=5000), ZoneInfo("UTC")), Granularity.HOUR
        )
        assert len(starts) == 5000 and starts[-1] == start + timedelta(hours=4999)

    def test_5001_buckets_are_rejected(self) -> None:
        """5,001 hour buckets are a 400 on the granularity field."""
        start = utc(2026, 1, 1)
        with pytest.raises(BadParameter) as excinfo:
            bucket_starts(
                span(start, start + timedelta(hours=5000, seconds=1), ZoneInfo("UTC")),
                Granularity.HOUR,
            )
        assert_bad(excinfo, "too_many_buckets", "granularity")

    def test_partial_buckets_at_both_ends_count(self) -> None:
        """5,000 hours that straddle 5,001 local hours are too many."""
        start = utc(2026, 1, 1, 0, 30)
        with pytest.raises(BadParameter):
            bucket_starts(
                span(start, start + timedelta(hours=5000), ZoneInfo("UTC")), Granularity.HOUR
            )

    def test_huge_windows_are_refused_before_any_bucket_is_built(self) -> None:
        """A century of hours is refused by arithmetic rather than enumeration."""
        with pytest.raises(BadParameter):
            bucket_starts(span(utc(1970, 1, 1), utc(2100, 1, 1), ZoneInfo("UTC")), Granularity.HOUR)

    def test_400_days_of_hours_are_too_many(self) -> None:
        """The longest allowed range holds 9,600 hour buckets, which is refused."""
        with pytest.raises(BadParameter) as excinfo:
            bucket_starts(window(start="2026-01-01", end="2027-02-04"), Granularity.HOUR)
        assert_bad(excinfo, "too_many_buckets", "granularity")


class TestBucketProperties:
    @settings(max_examples=300, deadline=None)
    @given(
        zone=st.sampled_from(ZONES),
        granularity=st.sampled_from(list(Granularity)),
        start_seconds=st.integers(0, 3 * 366 * 86400),
        length_seconds=st.integers(1, 200 * 86400),
    )
    def test_buckets_tile_the_window(
        self, zone: str, granularity: Granularity, start_seconds: int, length_seconds: int
    ) -> None:
        """Bucket starts are their own buckets, strictly increasing, from start's to end-1ms's."""
        tz = ZoneInfo(zone)
        start = utc(2025, 1, 1) + timedelta(seconds=start_seconds)
        end = start + timedelta(seconds=length_seconds)
        starts = bucket_starts(span(start, end, tz), granularity)
        assert all(bucket_of(b, tz, granularity) == b for b in starts)
        assert all(a < b for a, b in itertools.pairwise(starts))
        assert starts[0] == bucket_of(start, tz, granularity)
        assert starts[-1] == bucket_of(end - timedelta(milliseconds=1), tz, granularity)

    @settings(max_examples=300, deadline=None)
    @given(
        zone=st.sampled_from(ZONES),
        granularity=st.sampled_from(list(Granularity)),
        seconds=st.integers(0, 3 * 366 * 86400),
    )
    def test_each_bucket_ends_where_the_next_begins(
        self, zone: str, granularity: Granularity, seconds: int
    ) -> None:
        """The instant just before a bucket start belongs to the previous bucket."""
        tz = ZoneInfo(zone)
        instant = utc(2025, 1, 1) + timedelta(seconds=seconds)
        bucket = bucket_of(instant, tz, granularity)
        assert bucket <= instant
        before = bucket_of(bucket - timedelta(microseconds=1), tz, granularity)
        assert before < bucket
        assert bucket_starts(span(before, bucket + timedelta(microseconds=1), tz), granularity) == [
            before,
            bucket,
        ]


def previous(w: TimeWindow) -> tuple[datetime, datetime]:
    before = previous_window(w, Compare.PREVIOUS_PERIOD)
    assert (before.tz, before.tz_name) == (w.tz, w.tz_name)
    return before.start, before.end


class TestPreviousPeriod:
    """`compare=previous_period`: the window of the same length on the local clock of
    `timezone`, ending at `start` (API.md)."""

    def test_berlin_week_over_the_spring_change_compares_with_seven_local_days(self) -> None:
        """23-29 March 2026 lasts 167 hours; the week before it, 16-22 March, 168: the
        comparison starts at its local midnight, not at 01:00."""
        asked = window(start="2026-03-23", end="2026-03-29", tz="Europe/Berlin")
        assert asked.end - asked.start == timedelta(hours=167)
        start, end = previous(asked)
        assert (start, end) == (utc(2026, 3, 15, 23), asked.start)
        assert local_clock([start], BERLIN) == ["00:00+0100"]
        assert end - start == timedelta(hours=168)

    def test_berlin_week_over_the_autumn_change(self) -> None:
        """19-25 October 2026 lasts 169 hours; the week before it, 168."""
        start, end = previous(window(start="2026-10-19", end="2026-10-25", tz="Europe/Berlin"))
        assert (start, end) == (utc(2026, 10, 11, 22), utc(2026, 10, 18, 22))

    def test_the_week_after_a_change_compares_with_the_short_week(self) -> None:
        start, end = previous(window(start="2026-03-30", end="2026-04-05", tz="Europe/Berlin"))
        assert (start, end) == (utc(2026, 3, 22, 23), utc(2026, 3, 29, 22))
        assert end - start == timedelta(hours=167)

    def test_instants_keep_their_local_length(self) -> None:
        """Noon to noon over the change is 23 hours; the day before it, noon to noon, 24."""
        asked = window(start="2026-03-28T12:00:00+01:00", end="2026-03-29T12:00:00+02:00",
                       tz="Europe/Berlin")
        assert asked.end - asked.start == timedelta(hours=23)
        assert previous(asked) == (utc(2026, 3, 27, 11), utc(2026, 3, 28, 11))

    def test_in_utc_and_fixed_offsets_it_is_the_elapsed_time(self) -> None:
        for zone in ("UTC", "Asia/Kathmandu"):
            asked = window(start="2026-03-29T00:52:30.5Z", end="2026-03-31T01:07:00Z", tz=zone)
            assert previous(asked) == (asked.start - (asked.end - asked.start), asked.start)

    def test_lord_howe_half_hour_change(self) -> None:
        """The day Lord Howe turns its clock back half an hour lasts 24.5 hours; the day
        before it, 24."""
        asked = window(start="2026-04-05", end="2026-04-05", tz="Australia/Lord_Howe")
        assert asked.end - asked.start == timedelta(hours=24, minutes=30)
        start, end = previous(asked)
        assert [local_date(start, LORD_HOWE), end - start] == ["2026-04-04", timedelta(hours=24)]

    def test_a_day_that_begins_at_one_still_ends_whole_days(self) -> None:
        """Santiago skips midnight on 7 September 2025 (that day begins at 01:00): 1 August
        to 6 September, 37 local days, compares with the 37 before, from midnight."""
        asked = window(start="2025-08-01", end="2025-09-06", tz="America/Santiago")
        start, end = previous(asked)
        assert (start, end) == (utc(2025, 6, 25, 4), utc(2025, 8, 1, 4))
        assert local_clock([start, asked.end], SANTIAGO) == ["00:00-0400", "01:00-0300"]

    def test_a_window_the_local_clock_reads_backwards_falls_back_to_elapsed_time(self) -> None:
        """02:50 summer time to 02:05 winter time: 15 minutes, the clock 45 back."""
        asked = span(utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1, 5), BERLIN)
        assert previous(asked) == (utc(2026, 10, 25, 0, 35), asked.start)

    def test_a_start_right_after_a_gap_falls_back_to_elapsed_time(self) -> None:
        """30 minutes from 03:00 on 29 March: 02:30 never showed, so the clock cannot
        measure back from 03:00; the previous 30 minutes are taken."""
        asked = span(utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30), BERLIN)
        assert previous(asked) == (utc(2026, 3, 29, 0, 30), asked.start)

    @settings(max_examples=200, deadline=None)
    @given(zone=st.sampled_from(ZONES), first=st.dates(datetime(2025, 1, 1).date(),
                                                         datetime(2027, 12, 31).date()),
           days=st.integers(1, 60))
    def test_whole_local_days_compare_with_as_many_local_days(
            self, zone: str, first: date, days: int) -> None:
        """N local dates compare with the N local dates before them, in every zone."""
        last = first + timedelta(days=days - 1)
        asked = window(start=first.isoformat(), end=last.isoformat(), tz=zone)
        earlier = window(start=(first - timedelta(days=days)).isoformat(),
                         end=(first - timedelta(days=1)).isoformat(), tz=zone)
        assert previous(asked) == (earlier.start, earlier.end)

    @settings(max_examples=300, deadline=None)
    @given(zone=st.sampled_from(ZONES), start_seconds=st.integers(0, 3 * 366 * 86400),
           length_seconds=st.integers(1, 100 * 86400))
    def test_the_previous_window_ends_at_start_and_is_not_empty(
            self, zone: str, start_seconds: int, length_seconds: int) -> None:
        tz = ZoneInfo(zone)
        start = utc(2025, 1, 1) + timedelta(seconds=start_seconds)
        before_start, before_end = previous(span(start, start + timedelta(
            seconds=length_seconds), tz))
        assert before_start < before_end == start
