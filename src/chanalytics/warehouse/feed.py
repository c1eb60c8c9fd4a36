"""Export the stored events as files: `<tenant>/<YYYY-MM-DD>.<ext>`, one per tenant and
UTC day, with every event of the day in the drill-down's fields (the engine's encoders,
`query/exports.py`), and `manifest.json` saying what each file holds.

A file is written aside under a dot-name (`.<day>.<ext>.<random>.tmp`) and renamed into
place, so a reader never sees a partial file under its final name. The bytes depend on
the stored events alone, so exporting a day again rewrites the same bytes; the manifest
has no clock in it either, so it too comes out the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec
import structlog

from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.events import EventsQuery
from chanalytics.query.exports import EVENT_FORMATS, tenants_with_events
from chanalytics.warehouse.rows import count_rows

log = structlog.get_logger(__name__)

MANIFEST = "manifest.json"
FORMATS = tuple(EVENT_FORMATS)  # ndjson, csv, parquet
_DAY = timedelta(days=1)


class ExportError(Exception):
    """The export directory cannot be used (not a directory, an unreadable manifest)."""


class FileEntry(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    day: str
    rows: int
    bytes: int
    sha256: str


class Manifest(msgspec.Struct, kw_only=True):
    # Path relative to the export directory -> what the file holds.
    files: dict[str, FileEntry] = msgspec.field(default_factory=dict)
    # Format -> the UTC days exported for every tenant (not just one `--tenant`), in order:
    # the record the daily job reads to find the days it missed.
    days: dict[str, list[str]] = msgspec.field(default_factory=dict)


def read_manifest(directory: Path) -> Manifest:
    """The directory's manifest; an empty one where there is none yet."""
    try:
        raw = (directory / MANIFEST).read_bytes()
    except FileNotFoundError:
        return Manifest()
    except OSError as exc:
        raise ExportError(f"cannot read {directory / MANIFEST}: {exc}") from exc
    try:
        return msgspec.json.decode(raw, type=Manifest)
    except msgspec.DecodeError as exc:
        raise ExportError(f"{directory / MANIFEST} is not an export manifest ({exc}): "
                          "move it away to start the directory afresh") from exc


def tenant_dir(tenant: str) -> str:
    """The tenant's directory name: its id, with anything a path would read specially
    (`/`, `%`, a leading dot) percent-encoded, so no id can leave the export directory."""
    name = quote(tenant, safe="-_~")
    return "%2E" + name[1:] if name.startswith(".") else name


def day_window(day: date) -> TimeWindow:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return TimeWindow(start=start, end=start + _DAY, tz=ZoneInfo("UTC"), tz_name="UTC")


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def export_days(engine: Engine, directory: Path, first: date, last: date, fmt: str,
                      tenant: str | None = None) -> list[FileEntry]:
    """Export every UTC day from `first` to `last` (inclusive); the files written."""
    written: list[FileEntry] = []
    for day in days_between(first, last):
        written += await export_day(engine, directory, day, fmt, tenant)
    return written


async def export_day(engine: Engine, directory: Path, day: date, fmt: str,
                     tenant: str | None = None) -> list[FileEntry]:
    """One UTC day of every tenant with events that day (or of `tenant` alone): a file
    each, then the manifest. A tenant without events that day gets no file; a file an
    earlier export of the same day and scope listed, and that has no events now (expired
    by the TTL), is removed, so the directory always holds exactly the latest export."""
    if fmt not in EVENT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}")
    window = day_window(day)
    tenants = ([tenant] if tenant is not None
               else await tenants_with_events(engine, window.start, window.end))
    found: dict[str, FileEntry] = {}
    for each in tenants:
        name = f"{tenant_dir(each)}/{day.isoformat()}.{fmt}"
        query = EventsQuery(tenant_id=each, window=window)
        entry = await _write_file(directory / name, EVENT_FORMATS[fmt](engine, query), fmt,
                                  each, day)
        if entry is not None:
            found[name] = entry
    await asyncio.to_thread(_record, directory, day, fmt, tenant, found)
    log.info("export.day.written", day=day.isoformat(), format=fmt, files=len(found),
             rows=sum(e.rows for e in found.values()), tenant=tenant)
    return list(found.values())


def _record(directory: Path, day: date, fmt: str, tenant: str | None,
            found: dict[str, FileEntry]) -> None:
    """Put the day's files in the manifest in place of those of the same day, format and
    scope; remove the files that are no longer there."""
    manifest = read_manifest(directory)
    stamp = day.isoformat()
    for name, entry in list(manifest.files.items()):
        if (entry.day == stamp and name.endswith(f".{fmt}") and name not in found
                and (tenant is None or entry.tenant == tenant)):
            del manifest.files[name]
            with suppress(FileNotFoundError):
                (directory / name).unlink()
    manifest.files.update(found)
    manifest.files = dict(sorted(manifest.files.items()))
    if tenant is None:
        manifest.days[fmt] = sorted({*manifest.days.get(fmt, []), stamp})
    manifest.days = dict(sorted(manifest.days.items()))
    write_aside(directory / MANIFEST,
                msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


async def _write_file(path: Path, chunks: AsyncIterator[bytes], fmt: str, tenant: str,
                      day: date) -> FileEntry | None:
    """The chunks as `path`, renamed into place once complete; None (and no file) when
    they hold no rows. Disk work runs off the event loop (the service's ingest shares it)."""
    aside = await asyncio.to_thread(_Aside, path)
    try:
        async for chunk in chunks:
            await asyncio.to_thread(aside.write, chunk)
        await asyncio.to_thread(aside.finish)
        rows = await asyncio.to_thread(count_rows, Path(aside.out.name), fmt)
        if rows == 0:
            await asyncio.to_thread(aside.discard)
            return None
        await asyncio.to_thread(aside.commit)
    except BaseException:
        aside.discard()
        raise
    return FileEntry(tenant=tenant, day=day.isoformat(), rows=rows, bytes=aside.size,
                     sha256=aside.digest.hexdigest())


class _Aside:
    """A temporary dot-file beside `path`, renamed to it by `commit`, else removed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Open across several calls (each chunk is written off the event loop), so not
        # a `with` block: `commit` or `discard` closes it.
        self.out = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        """Flush the file to disk, before it may be renamed into place."""
        self.out.flush()
        os.fsync(self.out.fileno())

    def commit(self) -> None:
        self.out.close()
        os.chmod(self.out.name, 0o644)  # as a plain file would be: readers may be others
        os.replace(self.out.name, self.path)

    def discard(self) -> None:
        self.out.close()
        with suppress(FileNotFoundError):
            os.unlink(self.out.name)


def write_aside(path: Path, body: bytes) -> None:
    """`body` as `path`, complete or not at all."""
    aside = _Aside(path)
    try:
        aside.write(body)
        aside.finish()
        aside.commit()
    except BaseException:
        aside.discard()
        raise
