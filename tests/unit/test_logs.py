"""A JSON log stays JSON lines: libraries' stdlib records are rendered like our events."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from chanalytics.api.httpserver import server_config
from chanalytics.app import create_app
from chanalytics.config import load_settings
from chanalytics.logs import configure_logging


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """configure_logging(json) into a buffer; the process's logging set-up is put back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
                 for name in ("uvicorn.error", "clickhouse_connect")}
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    yield out
    structlog.reset_defaults()
    logging.captureWarnings(False)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, (lib_level, lib_handlers) in libraries.items():
        logging.getLogger(name).setLevel(lib_level)
        logging.getLogger(name).handlers = lib_handlers


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]  # each must parse


class TestJsonLog:
    def test_a_library_warning_is_a_json_line(self, json_log: io.StringIO) -> None:
        """clickhouse_connect's warning during an outage comes out as one JSON object with
        its level, logger and time, between our own events."""
        structlog.get_logger().warning("storage.outage.started", attempt=1)
        logging.getLogger("clickhouse_connect.driver.httpclient").warning(
            "Unexpected Http Driver Exception %s", "ConnectionRefused")
        ours, theirs = lines(json_log)
        assert ours["event"] == "storage.outage.started" and ours["attempt"] == 1
        assert theirs["event"] == "Unexpected Http Driver Exception ConnectionRefused"
        assert theirs["level"] == "warning"
        assert theirs["logger"] == "clickhouse_connect.driver.httpclient"
        assert theirs["timestamp"].endswith("Z")

    def test_tracebacks_and_warnings_stay_inside_their_line(self, json_log: io.StringIO) -> None:
        """An exception logged by asyncio and a warnings.warn() are each one JSON line."""
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("asyncio").exception("Task exception was never retrieved")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
        crashed, warned = lines(json_log)
        assert "RuntimeError: boom" in crashed["exception"]
        assert crashed["logger"] == "asyncio" and crashed["level"] == "error"
        assert "deprecated thing" in warned["event"] and warned["logger"] == "py.warnings"

    def test_routine_library_info_is_left_out(self, json_log: io.StringIO) -> None:
        """Libraries' INFO lines are noise at the default level; ours are not."""
        logging.getLogger("nats.aio.client").info("connected")
        structlog.get_logger().info("ingest.started")
        assert [line["event"] for line in lines(json_log)] == ["ingest.started"]

    def test_building_the_api_keeps_our_rendering(self, json_log: io.StringIO) -> None:
        """Litestar's default logging config would replace the root handler with its
        plain-text one when the app is built; the app is built without it."""
        create_app(load_settings({}, api_keys="tok=t"))
        logging.getLogger("nats.aio.client").error("nats: encountered error")
        [line] = lines(json_log)
        assert line["logger"] == "nats.aio.client" and line["level"] == "error"

    def test_uvicorn_logs_through_ours(self, json_log: io.StringIO) -> None:
        """The server's config gives uvicorn no plain-text handlers of its own."""
        server_config(object(), "127.0.0.1", 0)
        logging.getLogger("uvicorn.error").error("Exception in ASGI application")
        [line] = lines(json_log)
        assert line["logger"] == "uvicorn.error"
