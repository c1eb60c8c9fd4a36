"""`chanalytics run | serve | ingest | migrate | export | publish | clickhouse-server`:
read settings once, wire the parts, run."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec
import structlog

from chanalytics.cli import export
from chanalytics.cli.banner import dev_token
from chanalytics.cli.runners import (
    DEMO_TENANT,
    NATS_PORT,
    Demo,
    ingest,
    run_loop,
    run_with_local_nats,
    serve,
)
from chanalytics.clickhouse.storage import (
    Storage,
    StorageError,
    StorageUnavailable,
    migration_statements,
    schema_files,
)
from chanalytics.config import ConfigError, Settings, load_settings, unknown_variables
from chanalytics.connections import nats_options, open_storage_client, schema_layout
from chanalytics.logs import configure_logging
from chanalytics.ports import port_taken

log = structlog.get_logger(__name__)

DEFAULT_NATS_URL = f"nats://127.0.0.1:{NATS_PORT}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chanalytics", description=__doc__)
    parser.add_argument("--version", action="version",
                        version=f"chanalytics {metadata.version('chanalytics')}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "all-in-one: migrate, NATS (bundled unless CHANALYTICS_NATS_URL), ingest and API"),
        ("serve", "the dashboard API only"),
        ("ingest", "the ingest daemon only"),
        ("migrate", "apply the ClickHouse schema (idempotent)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", help="overrides CHANALYTICS_DATA_DIR")
        if name in ("run", "serve"):
            cmd.add_argument("--host", help="overrides CHANALYTICS_HTTP_HOST")
            cmd.add_argument("--port", type=int, help="overrides CHANALYTICS_HTTP_PORT")
        if name == "migrate":
            cmd.add_argument("--cluster", metavar="NAME", help="overrides "
                             "CHANALYTICS_CLICKHOUSE_CLUSTER: shard the tables of a "
                             "remote_servers cluster by tenant (run on each node)")
            cmd.add_argument("--replicated", action="store_true", default=None,
                             help="with --cluster: Replicated* engines and ON CLUSTER DDL "
                             "(needs ClickHouse Keeper; run once)")
            cmd.add_argument("--print", action="store_true", dest="print_ddl",
                             help="print the statements instead of applying them")
        if name == "run":
            cmd.add_argument("--demo", action="store_true",
                             help="publish realistic demo events continuously")
            cmd.add_argument("--rate", type=float, default=1.0, metavar="STORIES_PER_MINUTE",
                             help="the demo's traffic, in stories (a message, a campaign, a "
                             "run, …) per minute on average; its backfill has the "
                             "same rate (default 1)")
            cmd.add_argument("--backfill-days", type=float, default=30.0, metavar="DAYS",
                             help="days of demo history (default 30), published once per "
                             "data directory: a restart publishes only what is missing")
            cmd.add_argument("--nats-port", type=int, metavar="PORT",
                             help=f"the bundled nats-server's port (default {NATS_PORT} when "
                             "free, else the port it had last time, else any)")
    export.add_parser(sub)
    server = sub.add_parser("clickhouse-server", help="serve the data directory's embedded "
                            "engine as a ClickHouse server on 127.0.0.1 (HTTP and native TCP)")
    server.add_argument("--data-dir", help="overrides CHANALYTICS_DATA_DIR")
    server.add_argument("--http-port", type=int, default=8123)
    server.add_argument("--tcp-port", type=int, default=9000)
    server.add_argument("--cluster", metavar="NAME", type=_identifier, dest="remote_cluster",
                        help="name a remote_servers cluster of the --shard servers")
    server.add_argument("--shard", metavar="HOST:TCP_PORT", action="append", default=[],
                        type=_address, help="a shard's native TCP address, in shard order "
                        "(this server's own among them); repeat for each shard")
    publish = sub.add_parser("publish", help="send one event to JetStream (to try the service)")
    publish.add_argument("subject", help="e.g. pipeline.message.sent")
    publish.add_argument("event", help="the JSON envelope; id and timestamp default to new/now")
    publish.add_argument("--nats", help=f"NATS URL (default CHANALYTICS_NATS_URL, else "
                         f"{DEFAULT_NATS_URL})")
    publish.add_argument("--allow-invalid", action="store_true",
                         help="send an event ingest's decoder rejects anyway (to try the "
                         "dead-letter stream); without it such an event is refused, exit 2")
    return parser


def _identifier(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise argparse.ArgumentTypeError(f"not a cluster name: {text!r}")
    return text


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _stop_while_starting(signum: int, _: object) -> None:
    """SIGTERM/SIGINT before the event loop runs (while the command imports, migrates,
    starts the bundled nats-server): unwind through every `finally`, so nothing is left
    running, and exit 0 as a requested stop. Once the loop runs, `runners.run_loop`
    handles the signals instead (an exception raised there could land in any task)."""
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "export" and (why := export.problem(args, datetime.now(UTC).date())):
        print(f"chanalytics export: {why}", file=sys.stderr)
        return 2
    if args.command in ("run", "serve", "ingest"):  # their event loops replace these
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop_while_starting)
    if getattr(args, "rate", 1.0) <= 0 or not 0 <= getattr(args, "backfill_days", 0) <= 400:
        print("chanalytics: --rate must be above 0 (stories per minute) and --backfill-days "
              "within 0-400", file=sys.stderr)
        return 2
    try:
        settings = load_settings(
            os.environ, data_dir=getattr(args, "data_dir", None),
            http_host=getattr(args, "host", None), http_port=getattr(args, "port", None),
            clickhouse_cluster=getattr(args, "cluster", None),
            clickhouse_replicated=getattr(args, "replicated", None),
        )
    except ConfigError as exc:
        print(f"chanalytics: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    for name in unknown_variables(os.environ):
        log.warning("config.variable.unknown", variable=name,
                    hint="no such setting: a typo? (see the README's configuration table)")
    if args.command == "clickhouse-server":
        from chanalytics.clickhouse.server import serve_clickhouse

        if bool(args.remote_cluster) != bool(args.shard):
            print("chanalytics: --cluster and --shard go together", file=sys.stderr)
            return 2
        return serve_clickhouse(Path(settings.data_dir), args.http_port, args.tcp_port,
                                cluster=args.remote_cluster, shards=args.shard)
    if args.command == "publish":
        return _publish(args.nats or settings.nats_url or DEFAULT_NATS_URL, args.subject,
                        args.event, nats_options(settings), allow_invalid=args.allow_invalid)
    if args.command in ("run", "serve") and (busy := _port_taken(settings)):
        print(f"chanalytics: {busy}", file=sys.stderr)
        return 2
    if (args.command == "ingest" and settings.ingest_http_port
            and (why := port_taken(settings.http_host, settings.ingest_http_port))):
        print(f"chanalytics: cannot listen on {settings.http_host}:{settings.ingest_http_port} "
              f"({why}): choose another CHANALYTICS_INGEST_HTTP_PORT", file=sys.stderr)
        return 2
    if getattr(args, "print_ddl", False):
        print(schema_ddl(settings), end="")
        return 0
    try:
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "export":
            return _export(settings, args)
        if args.command == "serve" and not settings.api_keys:
            print("chanalytics: WARNING: CHANALYTICS_API_KEYS is not set, so every API "
                  "request will be refused with 401; set token=tenantId pairs",
                  file=sys.stderr, flush=True)
        if args.command == "ingest" and not settings.nats_url:
            print("chanalytics: CHANALYTICS_NATS_URL is required for `ingest`", file=sys.stderr)
            return 2
        token: str | None = None  # the development token, when no keys are configured
        if args.command == "run" and not settings.api_keys:
            token = dev_token(Path(settings.data_dir))
            settings = msgspec.structs.replace(settings, api_keys=f"{token}={DEMO_TENANT}")
        storage = open_storage(settings)
        try:
            if args.command == "serve":
                return run_loop(serve(settings, storage))
            if args.command == "ingest":
                return run_loop(ingest(settings, storage, settings.nats_url or ""))
            demo = Demo(args.rate, args.backfill_days) if args.demo else None
            return run_with_local_nats(settings, storage, token, demo=demo,
                                       nats_port=args.nats_port)
        finally:
            storage.close()
    except StorageError as exc:
        print(f"chanalytics: storage error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _port_taken(settings: Settings) -> str | None:
    """Why the API's port cannot be had, or None: checked before anything starts."""
    if settings.http_port == 0 or not (why := port_taken(settings.http_host,
                                                          settings.http_port)):
        return None
    return (f"cannot listen on {settings.http_host}:{settings.http_port} ({why}): is "
            "another chanalytics running? Choose another port with --port or "
            "CHANALYTICS_HTTP_PORT")


def _publish(nats_url: str, subject: str, event: str, options: dict[str, Any], *,
             allow_invalid: bool) -> int:
    from chanalytics.nats.publish import PublishError, publish_one

    try:
        print(asyncio.run(publish_one(nats_url, subject, event, options,
                                      allow_invalid=allow_invalid)))
    except PublishError as exc:
        print(f"chanalytics: {exc}", file=sys.stderr)
        return exc.status
    return 0


def schema_ddl(settings: Settings) -> str:
    """Every statement `migrate` would run on a new database, as a script."""
    layout = schema_layout(settings)
    lines = [f"-- chanalytics schema, database {layout.database}"
             + (f", cluster {layout.cluster}" if layout.cluster else "")
             + (" (replicated)" if layout.replicated else "")]
    lines += [f"{s.sql};" for s in layout.databases()]
    for path in schema_files():
        lines.append(f"\n-- {path.name}")
        for statement in migration_statements(path, layout, settings.raw_ttl_days):
            lines.append(f"USE `{statement.database}`;\n{statement.sql};")
    return "\n".join(lines) + "\n"


def _migrate(settings: Settings) -> int:
    """`migrate`: apply what is missing and say what that was."""
    storage = open_storage_client(settings)
    storage.connect()
    try:
        applied = storage.migrate(raw_ttl_days=settings.raw_ttl_days)
    finally:
        storage.close()
    where = f"database {storage.database!r} at {storage.shown_dsn}"
    if not applied:
        print(f"{where} is already up to date ({len(schema_files())} migrations)")
    else:
        span = applied[0] if len(applied) == 1 else f"{applied[0]}-{applied[-1]}"
        print(f"applied {len(applied)} migration{'s' if len(applied) > 1 else ''} ({span}) "
              f"to {where}")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    try:
        storage = open_storage(settings)
    except StorageUnavailable as exc:
        if not settings.embedded:
            raise
        print(f"chanalytics: cannot open the embedded ClickHouse in {settings.data_dir}: one "
              "process owns it at a time; is `chanalytics run` or `clickhouse-server` running "
              "on it? Stop it first, or set CHANALYTICS_EXPORT_DIR so that `run` exports "
              f"each day itself, or export from a server (CHANALYTICS_CLICKHOUSE_URL). "
              f"({exc})", file=sys.stderr)
        return 1
    try:
        return export.run_export(storage, args)
    finally:
        storage.close()


def open_storage(settings: Settings) -> Storage:
    storage = open_storage_client(settings)
    storage.connect()
    storage.migrate(raw_ttl_days=settings.raw_ttl_days)
    return storage
