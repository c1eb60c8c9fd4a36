"""One preset's answer, with or without `compare`: the service every caller shares.

A dashboard request and a scheduled report both ask for a preset's answer over a window;
with `compare` they also want the previous window's answer beside it and the change of
each summary number. Both windows run at once, and the query is logged once, here, so
no caller re-implements the comparison.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import structlog

from chanalytics.localtime import utc_text
from chanalytics.query.cache import one_request
from chanalytics.query.compare import compared, parse_compare, previous_window
from chanalytics.query.engine import Engine
from chanalytics.query.request import QueryRequest

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=msgspec.Struct)
Preset = Callable[[Engine, QueryRequest], Awaitable[T]]


async def answer(name: str, preset: Preset[T], engine: Engine, request: QueryRequest,
                 compare: str | None) -> T:
    """Run one preset (twice, at once, with `compare`: `comparison` and `change` attached)
    and log the query as `query.executed`."""
    started = time.perf_counter()
    mode = parse_compare(compare)
    with one_request():  # the tenant's version is asked once for all the preset's reads
        if mode is None:
            data = await preset(engine, request)
        else:
            before = msgspec.structs.replace(request,
                                             window=previous_window(request.window, mode))
            now, then = await asyncio.gather(preset(engine, request), preset(engine, before))
            data = compared(now, then)
    log.info("query.executed", tenant_id=request.tenant_id, query_type=name,
             start=utc_text(request.window.start), end=utc_text(request.window.end),
             timezone=request.window.tz_name, granularity=request.granularity.value,
             compare=compare, duration_ms=round((time.perf_counter() - started) * 1000, 2))
    return data
