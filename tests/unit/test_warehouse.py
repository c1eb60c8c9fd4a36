"""The warehouse feed without services: the command's arguments, when a day is due, the
directory a tenant's files go to, and the row count read from a Parquet footer."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chanalytics.cli.main import main
from chanalytics.config import load_settings
from chanalytics.warehouse.daily import due_days
from chanalytics.warehouse.feed import tenant_dir
from chanalytics.warehouse.rows import count_rows, parquet_rows


def _export(*args: str) -> list[str]:
    return ["export", "--start", "2026-05-01", "--end", "2026-05-03", "--out", "x", *args]


class TestCommandArguments:
    @pytest.mark.parametrize(("argv", "says"), [
        (["export", "--start", "2026-05-01", "--out", "x"], "--end"),
        (["export", "--start", "2026-13-01", "--end", "2026-05-01", "--out", "x"],
         "expected a date YYYY-MM-DD, got '2026-13-01'"),
        (_export("--format", "xml"), "invalid choice: 'xml'"),
        (["export", "--start", "2026-05-01", "--end", "2026-05-03"], "--out"),
    ])
    def test_malformed_arguments_exit_2(self, argv: list[str], says: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        """A missing or malformed argument exits 2 naming it."""
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert says in capsys.readouterr().err

    @pytest.mark.parametrize(("argv", "says"), [
        (["export", "--start", "2026-05-03", "--end", "2026-05-01", "--out", "x"],
         "--end 2026-05-01 is before --start 2026-05-03"),
        (["export", "--start", "2026-05-01", "--end", "2999-01-01", "--out", "x"],
         "--end 2999-01-01 is not over yet (UTC)"),
        (_export("--tenant", ""), "--tenant must be 1-128 characters"),
        (_export("--tenant", "t" * 129), "--tenant must be 1-128 characters"),
    ])
    def test_unusable_arguments_exit_2_before_storage_opens(
        self, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Arguments that parse but cannot be exported exit 2 with the reason (this test
        may not reach ClickHouse: the check comes first)."""
        assert main(argv) == 2
        assert f"chanalytics export: {says}" in capsys.readouterr().err

    def test_out_must_be_a_directory(self, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        """An --out that is a file exits 2."""
        (tmp_path / "f").write_text("")
        argv = _export()
        argv[argv.index("x")] = str(tmp_path / "f")
        assert main(argv) == 2
        assert "exists and is not a directory" in capsys.readouterr().err


class TestDueDays:
    def test_yesterday_is_due_from_00_30_utc(self) -> None:
        """The previous UTC day is due at 00:30 UTC, not a second before, in any zone."""
        before = datetime(2026, 5, 3, 0, 29, 59, 999999, tzinfo=UTC)
        assert due_days([], before) == [date(2026, 5, 1)]
        assert due_days([], datetime(2026, 5, 3, 0, 30, tzinfo=UTC)) == [date(2026, 5, 2)]
        berlin = datetime.fromisoformat("2026-05-03T02:30:00+02:00")
        assert due_days([], berlin) == [date(2026, 5, 2)]

    def test_every_day_after_the_last_exported(self) -> None:
        """Days after the latest exported one are due, through yesterday; none after."""
        now = datetime(2026, 5, 5, 9, tzinfo=UTC)
        assert due_days(["2026-05-01", "2026-04-20"], now) == [
            date(2026, 5, 2), date(2026, 5, 3), date(2026, 5, 4)]
        assert due_days(["2026-05-04"], now) == []
        assert due_days(["2026-05-09"], now) == []


class TestTenantDirectory:
    @pytest.mark.parametrize(("tenant", "name"), [
        ("t_alpha", "t_alpha"), ("a/b", "a%2Fb"), ("..", "%2E."), (".hidden", "%2Ehidden"),
        ("50%", "50%25"), ("Zürich acme", "Z%C3%BCrich%20acme"),
    ])
    def test_no_tenant_id_leaves_the_export_directory(self, tenant: str, name: str) -> None:
        """A tenant's directory is one path part, never `..` nor hidden, and one id each."""
        assert tenant_dir(tenant) == name


class TestRowCount:
    def test_a_parquet_footer_without_row_count_is_refused(self, tmp_path: Path) -> None:
        """Not Parquet, or a footer without `num_rows`, is an error, never 0 rows."""
        bad = tmp_path / "bad.parquet"
        bad.write_bytes(b"PAR1" + b"\x00" * 8)
        with pytest.raises(ValueError, match="not a Parquet file"):
            parquet_rows(bad)
        footer = b"\x15\x04\x00"  # field 1 (version, i32 = 2), then the struct's end
        bad.write_bytes(b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1")
        with pytest.raises(ValueError, match="no row count"):
            parquet_rows(bad)

    def test_csv_rows_with_line_breaks_in_values(self, tmp_path: Path) -> None:
        """A CSV value holding a line break is one row, and the header is none."""
        path = tmp_path / "x.csv"
        path.write_bytes(b'"id","url"\r\n"a","x\r\ny"\r\n"b",\r\n')
        assert count_rows(path, "csv") == 2


def test_export_dir_setting() -> None:
    """CHANALYTICS_EXPORT_DIR is read; unset, there is no daily export."""
    assert load_settings({}).export_dir is None
    assert load_settings({"CHANALYTICS_EXPORT_DIR": "/srv/feed"}).export_dir == "/srv/feed"
    assert load_settings({"CHANALYTICS_EXPORT_DIR": ""}).export_dir is None
