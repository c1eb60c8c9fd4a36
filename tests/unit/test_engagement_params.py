"""The engagement endpoints' parameters (`query/engagement_params.py`): levels, asOf and
cursors, each bad value a BadParameter naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chanalytics.query.engagement_params import (
    cursor_text,
    engagement_query,
    level_of,
    level_range,
    parse_as_of,
    resolve_as_of,
)
from chanalytics.query.errors import BadParameter

AT = datetime(2026, 12, 7, 10, 15, 0, 123000, tzinfo=UTC)


class TestLevels:
    @pytest.mark.parametrize(("score", "level"), [
        (0, "inactive"), (9, "inactive"), (10, "low"), (49, "low"), (50, "medium"),
        (99, "medium"), (100, "high"), (10**9, "high")])
    def test_level_of_a_score(self, score: int, level: str) -> None:
        assert level_of(score) == level

    def test_ranges_are_the_levels_bounds(self) -> None:
        assert [level_range(n) for n in ("high", "medium", "low", "inactive")] == [
            (100, None), (50, 99), (10, 49), (0, 9)]


class TestAsOf:
    @pytest.mark.parametrize("text", ["2026-12-07T10:15:00.123Z", "2026-12-07t10:15:00.123z",
                                      "2026-12-07T11:15:00.123456789+01:00",
                                      "2026-12-07 10:15:00.1239Z"])
    def test_rfc3339_to_the_millisecond(self, text: str) -> None:
        assert parse_as_of(text) == AT

    @pytest.mark.parametrize("text", ["", "now", "2026-12-07", "2026-12-07T10:15:00",
                                      "2026-13-07T10:15:00Z", "2026-12-07T25:15:00Z",
                                      "\uff12026-12-07T10:15:00Z"])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(BadParameter) as error:
            parse_as_of(text)
        assert error.value.field == "asOf"


class TestResolvedAsOf:
    def test_default_is_one_second_back_cut_to_the_second(self) -> None:
        assert resolve_as_of(None, AT, fixed=False) == datetime(2026, 12, 7, 10, 14, 59,
                                                                tzinfo=UTC)

    @pytest.mark.parametrize("back", [timedelta(0), timedelta(seconds=60)])
    def test_a_clients_within_60_s_is_kept(self, back: timedelta) -> None:
        assert resolve_as_of(AT - back, AT, fixed=False) == AT - back

    @pytest.mark.parametrize("shift", [timedelta(seconds=-60, milliseconds=-1),
                                       timedelta(milliseconds=1)])
    def test_older_or_later_is_refused(self, shift: timedelta) -> None:
        with pytest.raises(BadParameter) as error:
            resolve_as_of(AT + shift, AT, fixed=False)
        assert error.value.field == "asOf"

    def test_a_cursors_is_kept_however_old(self) -> None:
        old = AT - timedelta(days=30)
        assert resolve_as_of(old, None, fixed=True) == old


class TestCursor:
    def test_a_cursor_resumes_its_snapshot_and_position(self) -> None:
        first = engagement_query("t", level="low", limit="5", cursor=None, as_of=None)
        text = cursor_text(AT, 42, "c_7", first.digest)
        query = engagement_query("t", level="low", limit="5", cursor=text, as_of=None)
        assert (query.as_of, query.after) == (AT, (42, "c_7"))

    @pytest.mark.parametrize(("tenant", "level"), [("other", "low"), ("t", None),
                                                   ("t", "high")])
    def test_another_querys_cursor_is_refused(self, tenant: str, level: str | None) -> None:
        text = cursor_text(AT, 42, "c_7", engagement_query(
            "t", level="low", limit=None, cursor=None, as_of=None).digest)
        with pytest.raises(BadParameter) as error:
            engagement_query(tenant, level=level, limit=None, cursor=text, as_of=None)
        assert error.value.field == "cursor"

    def test_an_as_of_other_than_the_cursors_is_refused(self) -> None:
        digest = engagement_query("t", level=None, limit=None, cursor=None, as_of=None).digest
        text = cursor_text(AT, 1, "c", digest)
        same = engagement_query("t", level=None, limit=None, cursor=text,
                                as_of="2026-12-07T10:15:00.123Z")
        assert same.as_of == AT
        with pytest.raises(BadParameter) as error:
            engagement_query("t", level=None, limit=None, cursor=text,
                             as_of="2026-12-07T10:15:01Z")
        assert error.value.field == "asOf"

    @pytest.mark.parametrize("text", ["", "x", "W10", "WzEsMiwzXQ", "!!!!"])
    def test_garbage_is_refused(self, text: str) -> None:
        with pytest.raises(BadParameter) as error:
            engagement_query("t", level=None, limit=None, cursor=text, as_of=None)
        assert error.value.field == "cursor"


@pytest.mark.parametrize(("params", "field"), [
    ({"level": "HIGH"}, "level"), ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit")])
def test_bad_values_name_their_parameter(params: dict[str, str], field: str) -> None:
    args: dict[str, str | None] = {"level": None, "limit": None, "cursor": None,
                                   "as_of": None} | params
    with pytest.raises(BadParameter) as error:
        engagement_query("t", **args)
    assert error.value.field == field
