"""Report schedules: cron's weekday numbers, `every` forms, the latest tick owed after a
gap (one, however many were missed), daylight-saving days, and the faults named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chanalytics.query.errors import BadParameter
from chanalytics.reports.schedule import Schedule, ScheduleBody


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TestTicks:
    @pytest.mark.parametrize(("cron", "weekday"), [("0 7 * * 1", 0), ("0 7 * * 0", 6),
                                                   ("0 7 * * 7", 6), ("0 7 * * 5", 4)])
    def test_cron_weekdays_count_from_sunday(self, cron: str, weekday: int) -> None:
        """`1` is Monday and `0`/`7` Sunday, as in cron (APScheduler's own numbers start at
        Monday = 0)."""
        tick = Schedule(ScheduleBody(cron=cron)).next_after(_at("2026-12-07T08:00:00"))
        assert (tick.weekday(), tick.hour) == (weekday, 7)

    def test_a_weekday_range_and_list(self) -> None:
        """`1-5` is Monday to Friday; `6,0` Saturday and Sunday."""
        week = Schedule(ScheduleBody(cron="0 12 * * 1-5"))
        ends = Schedule(ScheduleBody(cron="0 12 * * 6,0"))
        start = _at("2026-12-06T13:00:00")  # a Sunday afternoon
        assert week.next_after(start) == _at("2026-12-07T12:00:00")
        assert ends.next_after(start) == _at("2026-12-12T12:00:00")

    def test_every_forms_in_their_zone(self) -> None:
        """daily at 08:00 Berlin is 07:00 UTC in winter; weekly is Mondays, monthly the 1st."""
        after = _at("2026-12-02T12:00:00")
        daily = ScheduleBody(every="daily", at="08:00", timezone="Europe/Berlin")
        weekly = ScheduleBody(every="weekly", at="08:00", timezone="Europe/Berlin")
        monthly = ScheduleBody(every="monthly", at="00:30", timezone="Europe/Berlin")
        assert Schedule(daily).next_after(after) == _at("2026-12-03T07:00:00")
        assert Schedule(weekly).next_after(after) == _at("2026-12-07T07:00:00")
        assert Schedule(monthly).next_after(after) == _at("2026-12-31T23:30:00")

    def test_daylight_saving_day(self) -> None:
        """Daily at 08:00 Berlin: 07:00 UTC before the spring change, 06:00 after."""
        daily = Schedule(ScheduleBody(every="daily", at="08:00", timezone="Europe/Berlin"))
        assert daily.next_after(_at("2026-03-28T12:00:00")) == _at("2026-03-29T06:00:00")
        assert daily.next_after(_at("2026-03-27T12:00:00")) == _at("2026-03-28T07:00:00")

    def test_the_latest_missed_tick_is_the_one_owed(self) -> None:
        """After ten missed minutes, one tick is owed: the latest; none when nothing is due."""
        minutely = Schedule(ScheduleBody(cron="* * * * *"))
        after = _at("2026-12-07T10:00:30")
        assert minutely.latest_due(after, _at("2026-12-07T10:10:45")) == _at(
            "2026-12-07T10:10:00")
        assert minutely.latest_due(after, _at("2026-12-07T10:00:59")) is None
        assert minutely.latest_due(_at("2026-12-07T10:10:00"),
                                   _at("2026-12-07T10:10:59")) is None

    def test_a_seconds_schedule_missed_for_long(self) -> None:
        """A per-second schedule missed for a day still owes one tick, the latest."""
        every_second = Schedule(ScheduleBody(cron="* * * * * *"))
        assert every_second.latest_due(_at("2026-12-06T10:00:00"),
                                       _at("2026-12-07T10:00:00.5")) == _at(
            "2026-12-07T10:00:00")


class TestFaults:
    @pytest.mark.parametrize(("body", "field"), [
        (ScheduleBody(), "schedule.cron"),
        (ScheduleBody(cron="* * * * *", every="daily"), "schedule.cron"),
        (ScheduleBody(cron="0 0 * * 8"), "schedule.cron"),
        (ScheduleBody(cron="0 0 31 2 * * *"), "schedule.cron"),
        (ScheduleBody(cron="* * * * *", at="08:00"), "schedule.at"),
        (ScheduleBody(every="daily"), "schedule.at"),
        (ScheduleBody(every="daily", at="8:00"), "schedule.at"),
        (ScheduleBody(cron="* * * * *", timezone="Nowhere/City"), "schedule.timezone"),
    ])
    def test_each_fault_names_its_field(self, body: ScheduleBody, field: str) -> None:
        with pytest.raises(BadParameter) as caught:
            Schedule(body)
        assert caught.value.field == field
