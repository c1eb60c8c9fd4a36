"""ClickHouse storage: the one module that talks to ClickHouse.

The same clickhouse-connect client API serves both modes: the embedded engine
(`chdb:///dir`, in-process, sync-only) and a server (`http(s)://host:8123`).
Every blocking call runs in a small thread pool, off the event loop. Ingest and
query code only see `Storage`, never the client.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import clickhouse_connect
import msgspec
import structlog
from clickhouse_connect.driver.exceptions import ClickHouseError as _ClickHouseError
from clickhouse_connect.driver.exceptions import OperationalError as _OperationalError

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Settings for every batch insert: a retried batch with the same token is dropped
# by the raw table and, through the dependent-view setting, by every rollup too.
INSERT_SETTINGS: dict[str, Any] = {
    "date_time_input_format": "best_effort",
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    "input_format_skip_unknown_fields": 0,
}


_END = object()  # the end of a stream


class Statement(msgspec.Struct, frozen=True):
    database: str  # the database the statement's unqualified names resolve in
    sql: str


class Placement(Protocol):
    """Where the schema's statements run and what every client sends: one database
    (`OneDatabase`), or the shards of a cluster (`cluster.Layout`, passed in by whoever
    reads the settings; storage knows no cluster)."""

    @property
    def client_settings(self) -> Mapping[str, Any] | None: ...

    def databases(self) -> list[Statement]: ...

    def statements(self, ddl: str) -> list[Statement]: ...


class OneDatabase(msgspec.Struct, frozen=True):
    """Every file applied as written in one database, on one server."""

    database: str

    @property
    def client_settings(self) -> Mapping[str, Any] | None:
        return None

    def databases(self) -> list[Statement]:
        return [Statement(self.database, f"CREATE DATABASE IF NOT EXISTS `{self.database}`")]

    def statements(self, ddl: str) -> list[Statement]:
        return [Statement(self.database, ddl.strip())]


class StorageError(Exception):
    """ClickHouse could not be reached or refused a statement."""


class SchemaMismatch(StorageError):
    """The database holds a schema history this version cannot upgrade."""


class StorageUnavailable(StorageError):
    """ClickHouse did not answer (down, locked by another process, or a network error)."""


def schema_files(directory: Path | None = None) -> list[Path]:
    """The migrations, in the order they are applied."""
    return sorted((directory or schema_dir()).glob("[0-9][0-9][0-9][0-9]_*.sql"))


@cache
def view_query(target: str, directory: Path | None = None) -> str:
    """The SELECT of the materialized view that fills `target`, as its schema file has it:
    the one definition of those rows, for a reader that derives them from the raw table."""
    for path in schema_files(directory):
        header, _, select = path.read_text().partition("\n")
        if header.startswith("CREATE MATERIALIZED VIEW") and header.endswith(f" TO {target} AS"):
            return select.strip()
    raise LookupError(f"no materialized view fills {target!r}")


def schema_dir() -> Path:
    """The DDL files: packaged beside the code when installed, else `clickhouse/schema`."""
    packaged = resources.files("chanalytics").joinpath("schema")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "clickhouse" / "schema"


# chDB's allocator (jemalloc, configured by JE_MALLOC_CONF when the library loads) keeps
# freed pages around per arena: ~100 MB of resident memory while ingest drains a
# backlog. Two arenas returning dirty pages after 1 s and muzzy ones at once held peak
# anonymous memory at 296-339 MB instead of 332-368 MB in 1M-event runs, with no loss of
# throughput beyond run-to-run noise (bench/results/ingest.md). An operator's own
# JE_MALLOC_CONF wins.
EMBEDDED_ALLOCATOR = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0"


class Storage:
    """ClickHouse clients for a small thread pool: one client per pool thread.

    A client serializes its own calls (chDB's backend holds a lock per handle), so with
    one shared client the statements an endpoint runs together ran one after another.
    chDB serves any number of handles to the one engine a process hosts; one per thread
    lets them run at once (an overview of the largest bench tenant: 56 -> 39 ms). All
    clients are opened in `connect`, before any statement runs; a pool thread takes one
    on its first call.
    """

    def __init__(self, dsn: str, database: str, *, threads: int = 4,
                 ca_cert: str | None = None, placement: Placement | None = None) -> None:
        self.dsn = dsn
        self._ca_cert = ca_cert  # verifies an https:// server (else the system's CAs)
        self.database = database
        self.placement = placement or OneDatabase(database)  # one server, or shards
        self.embedded = dsn.startswith("chdb:")
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="clickhouse")
        self._client: Any = None  # the first client; None while not connected
        self._clients: list[Any] = []
        self._spare: list[Any] = []  # opened, not yet taken by a pool thread
        self._clients_lock = threading.Lock()
        self._local = threading.local()
        # Fault injection for outage tests: called as (phase, table) with phase "before" and
        # "after" every insert; True makes it fail there ("after": it had in fact succeeded).
        self.insert_fault: Callable[[str, str], bool] | None = None

    # -- lifecycle -----------------------------------------------------------------

    def connect(self) -> None:
        """Open the clients and make sure the database exists (blocking)."""
        if self._client is not None:
            return
        try:
            if self.embedded:
                os.environ.setdefault("JE_MALLOC_CONF", EMBEDDED_ALLOCATOR)  # before chDB loads
            client = self._open_client()
            for statement in self.placement.databases():
                client.command(statement.sql)
            clients = [client, *(self._open_client() for _ in range(self._threads))]
            for each in clients:
                each.database = self.database
        except Exception as exc:  # the driver raises many kinds; all mean "not reachable"
            raise StorageUnavailable(f"cannot open ClickHouse at {self.shown_dsn}: {exc}") from exc
        self._local = threading.local()
        self._local.client = client  # the connecting thread's (migrations, the CLI)
        self._clients = clients
        self._spare = clients[1:]
        self._client = client
        log.info("storage.connected", dsn=self.shown_dsn, database=self.database)

    @property
    def shown_dsn(self) -> str:
        """The DSN without its password, for logs and errors."""
        return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", self.dsn)

    def _open_client(self) -> Any:
        if self.embedded:
            return clickhouse_connect.get_client(dsn=self.dsn)
        return clickhouse_connect.get_client(
            dsn=self.dsn, autogenerate_session_id=False, connect_timeout=5,
            send_receive_timeout=60, ca_cert=self._ca_cert,
            settings=dict(self.placement.client_settings or {}) or None,
        )

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients, self._client, self._spare = self._clients, [], None, []
        for client in clients:
            client.close()
        self._pool.shutdown(wait=True)

    # -- blocking primitives (run in the pool) ---------------------------------------

    def _client_or_raise(self) -> Any:
        """This thread's client: a spare one from `connect` on its first call (a thread
        beyond the pool's, rare, opens its own)."""
        if self._client is None:
            raise StorageUnavailable("storage is not connected")
        client = getattr(self._local, "client", None)
        if client is not None:
            return client
        with self._clients_lock:
            client = self._spare.pop() if self._spare else None
        if client is None:
            try:
                client = self._open_client()
                client.database = self.database
            except Exception as exc:
                raise StorageUnavailable(
                    f"cannot open ClickHouse at {self.shown_dsn}: {exc}") from exc
            with self._clients_lock:
                self._clients.append(client)
        if self._client is None:  # closed meanwhile
            raise StorageUnavailable("storage is not connected")
        self._local.client = client
        return client

    def query_sync(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            result = self._client_or_raise().query(sql, parameters=dict(params or {}))
        except _ClickHouseError as exc:
            raise _classify(exc) from exc
        return [tuple(row) for row in result.result_rows]

    def command_sync(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        target = _insert_target(sql)
        self._fault("before", target)
        try:
            self._client_or_raise().command(sql, parameters=dict(params or {}))
        except _ClickHouseError as exc:
            raise _classify(exc) from exc
        self._fault("after", target)

    def _fault(self, phase: str, target: str | None) -> None:
        if target and self.insert_fault is not None and self.insert_fault(phase, target):
            raise StorageUnavailable(f"insert into {target} failed {phase} (injected fault)")

    def insert_json_sync(
        self, table: str, columns: Sequence[str], body: bytes, *, dedup_token: str | None = None
    ) -> None:
        """Insert newline-delimited JSON rows. (No row count: a server's summary counts the
        rows its views wrote too, chDB's does not, so neither tells what callers need.)"""
        self._fault("before", table)
        settings = dict(INSERT_SETTINGS)
        if dedup_token:
            settings["insert_deduplication_token"] = dedup_token
        try:
            self._client_or_raise().raw_insert(
                table, list(columns), insert_block=body, fmt="JSONEachRow", settings=settings
            )
        except _ClickHouseError as exc:
            raise _classify(exc) from exc
        self._fault("after", table)

    # -- async facade ----------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            future = asyncio.get_running_loop().run_in_executor(self._pool, fn)
        except RuntimeError as exc:  # the pool is shut down: this storage was closed
            raise StorageUnavailable(f"storage is closed: {exc}") from exc
        return await future

    async def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        started = time.perf_counter()
        rows = await self._run(partial(self.query_sync, sql, params))
        log.debug("storage.query.done", ms=round((time.perf_counter() - started) * 1000, 2))
        return rows

    async def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await self._run(partial(self.command_sync, sql, params))

    async def insert_json(
        self, table: str, columns: Sequence[str], body: bytes, *, dedup_token: str | None = None
    ) -> None:
        await self._run(
            partial(self.insert_json_sync, table, columns, body, dedup_token=dedup_token)
        )

    async def stream(
        self, sql: str, params: Mapping[str, Any] | None = None, *, ahead: int = 4,
        settings: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The rows of a statement, block by block, read by a thread and client of its own
        (a long export never holds a pool thread); at most `ahead` blocks wait in memory,
        so a slow reader slows the read instead of growing it."""
        def blocks(client: Any) -> Any:
            return client.query_row_block_stream(sql, parameters=dict(params or {}),
                                                 settings=dict(settings or {}))
        async for block in self._streamed(blocks, ahead):
            yield block

    async def stream_formatted(
        self, sql: str, params: Mapping[str, Any] | None = None, *, fmt: str,
        ahead: int = 4, settings: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[bytes]:
        """The statement's result as ClickHouse writes it in `fmt` (`CSVWithNames`, …),
        chunk by chunk, as `stream` reads rows."""
        @contextmanager
        def chunks(client: Any) -> Iterator[Iterator[bytes]]:
            stream = client.raw_stream(sql, parameters=dict(params or {}),
                                       settings=dict(settings or {}), fmt=fmt)
            try:  # read in large pieces: iterating the stream would yield lines
                yield iter(lambda: bytes(stream.read(1 << 20)), b"")
            finally:
                stream.close()
        async for chunk in self._streamed(chunks, ahead):
            yield chunk

    async def _streamed(self, open_stream: Callable[[Any], Any], ahead: int) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue(maxsize=ahead)
        done = threading.Event()

        def put(item: Any) -> None:
            # One put per item, awaited in slices so a reader that stopped is noticed. (A
            # put submitted again after a slice ran out would add the item twice once the
            # first went through: a reader slower than a second per block got every block
            # again and again, and a 36 MB report grew past a gigabyte.)
            future = asyncio.run_coroutine_threadsafe(items.put(item), loop)
            while not done.is_set():
                try:
                    future.result(timeout=1)
                    return
                except TimeoutError:
                    continue
            future.cancel()

        def produce() -> None:
            client: Any = None
            try:
                client = self._open_client()
                client.database = self.database
                with open_stream(client) as stream:
                    for item in stream:
                        if done.is_set():
                            break
                        put(item)
                put(_END)
            except Exception as exc:  # handed to the reader, which raises it
                put(_classify(exc) if isinstance(exc, _ClickHouseError) else exc)
            finally:
                if client is not None:
                    client.close()

        thread = threading.Thread(target=produce, name="clickhouse-stream", daemon=True)
        thread.start()
        try:
            while True:
                item = await items.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            done.set()

    async def ping(self) -> bool:
        """True when ClickHouse answers a query."""
        try:
            self._fault("before", "ping")
            rows = await self.query("SELECT 1")
        except StorageError:
            return False
        return rows == [(1,)]

    # -- migrations --------------------------------------------------------------------

    def migrate(self, *, raw_ttl_days: int, directory: Path | None = None) -> list[str]:
        """Apply the DDL files not yet recorded, in name order; returns the versions applied.

        A database whose recorded migrations are not a prefix of these files (the schema
        of an earlier development history, or of a newer release) is refused before
        anything changes: its tables are not the ones the code reads.
        """
        self.command_sync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version String, name String, "
            "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
        )
        files = schema_files(directory)
        known = {path.name[:4]: path.stem for path in files}
        done = dict(self.query_sync("SELECT version, name FROM schema_migrations"))
        foreign = sorted(v for v, name in done.items() if known.get(v) != name)
        if foreign:
            raise SchemaMismatch(
                f"database {self.database!r} holds migrations this version does not have "
                f"({', '.join(f'{v} {done[v]}' for v in foreign[:3])}"
                f"{', …' if len(foreign) > 3 else ''}): it was made by an earlier development "
                "schema or a newer release. Nothing was changed. Point "
                "CHANALYTICS_CLICKHOUSE_DATABASE at a new database, or drop this one.")
        applied: list[str] = []
        started = time.perf_counter()
        for path in files:
            version = path.name[:4]
            if version in done:
                continue
            for statement in migration_statements(path, self.placement, raw_ttl_days):
                self._command_in(statement)
            self.command_sync(
                "INSERT INTO schema_migrations (version, name) VALUES ({v:String}, {n:String})",
                {"v": version, "n": path.stem},
            )
            applied.append(version)
            log.debug("storage.migration.applied", version=version, name=path.stem)
        if applied:
            log.info("storage.migrations.applied", count=len(applied), first=applied[0],
                     last=applied[-1], database=self.database,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return applied

    def _command_in(self, statement: Statement) -> None:
        """A DDL statement whose unqualified names resolve in its database (migrations
        run on the connecting thread, alone)."""
        client = self._client_or_raise()
        client.database = statement.database
        try:
            self.command_sync(statement.sql)
        finally:
            client.database = self.database


def migration_statements(path: Path, placement: Placement,
                         raw_ttl_days: int) -> list[Statement]:
    """What one schema file runs in a placement (`migrate --print` shows them all)."""
    # The one templated value is an integer from validated settings, never user input.
    ddl = path.read_text().replace("{raw_ttl_days}", str(int(raw_ttl_days)))
    return placement.statements(ddl)


def _insert_target(sql: str) -> str | None:
    words = sql.split(None, 3)
    if len(words) >= 3 and words[0].upper() == "INSERT" and words[1].upper() == "INTO":
        return words[2]
    return None


# Words of an unreachable or busy store. Whole words only: "lock" must not match "block",
# which ClickHouse's data errors mention, or a rejected row would be retried forever.
_UNAVAILABLE = re.compile(
    r"\b(connection|connect|timed out|timeout|refused|network|unreachable|locked|"
    r"cannot lock|memory limit)\b", re.IGNORECASE)


def _classify(exc: Exception) -> StorageError:
    text = str(exc)
    if isinstance(exc, _OperationalError) or _UNAVAILABLE.search(text):
        return StorageUnavailable(text)
    return StorageError(text)
