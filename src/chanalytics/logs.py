"""structlog set-up: key-value events, JSON for machines or console for people.

Libraries log through stdlib `logging` (clickhouse_connect, nats, uvicorn, asyncio,
apscheduler); their records go through the same processors and renderer as our own
events, so a JSON log stays one JSON object per line even during an outage, when
libraries are at their most talkative.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

# Their routine INFO lines are noise here; warnings and errors still come through.
QUIET_LIBRARIES = ("apscheduler", "asyncio", "clickhouse_connect", "httpx", "nats", "uvicorn")


def configure_logging(level: str = "info", fmt: str = "auto",
                      stream: TextIO | None = None) -> None:
    """`fmt` json | console | auto (console on a terminal, else JSON); `stream` defaults
    to stderr."""
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    threshold = getattr(logging, level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        # A library record becomes {"event": its message, "logger": its name, ...}.
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, threshold))
    logging.captureWarnings(True)  # warnings.warn() too, as a `py.warnings` record
    for name in QUIET_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(max(logging.WARNING, threshold))
        # uvicorn's own config gives its loggers handlers that print plain text; the CLI
        # passes log_config=None, and any left over are dropped for ours at the root.
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True
