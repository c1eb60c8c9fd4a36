"""Skip the raw slices of a window off the 15-minute grid when they would add nothing.

A window that ends at *now* (`timeRange`) or at an RFC 3339 instant has a partial
15-minute bucket at an edge, read from the raw table by every statement of the answer:
each such read costs as much as a whole statement. The whole bucket usually holds
exactly the window's part of it: nothing has happened after *now*. One raw read checks
that for every statement at once. It runs beside the whole-bucket answer rather than
before it (it costs as much as a statement, 10-20 ms through chDB); in the rare case that
it finds events outside the window, that answer is dropped and the exact one computed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

from chanalytics.query.bounds import covering_buckets, has_raw_edges, range_params
from chanalytics.query.request import QueryRequest
from chanalytics.storage import Storage

T = TypeVar("T")

# Events of the tenant in the parts of the edge buckets outside the window.
SPILL_SQL = (
    "SELECT count() FROM analytics_events WHERE tenant_id = {tenant:String} "
    "AND ((occurred_at >= {spill_start:DateTime64(3, 'UTC')} "
    "AND occurred_at < {start:DateTime64(3, 'UTC')}) "
    "OR (occurred_at >= {end:DateTime64(3, 'UTC')} "
    "AND occurred_at < {spill_end:DateTime64(3, 'UTC')}))"
)


async def answer_settled(
    storage: Storage, request: QueryRequest, run: Callable[[QueryRequest], Awaitable[T]],
) -> T:
    """`run(request)`, from whole buckets when the edge buckets hold no event of the
    tenant outside the window (the same answer, without the raw slices)."""
    window = range_params(request.tenant_id, request.window)
    if not has_raw_edges(window):
        return await run(request)
    whole = msgspec.structs.replace(request, whole_buckets=True)
    # gather, not a TaskGroup: a failure must reach the caller as itself (a StorageError
    # is a 503), not wrapped in an ExceptionGroup
    answer: T
    spill, answer = await asyncio.gather(
        storage.query(SPILL_SQL, covering_buckets(window)), run(whole))
    if spill[0][0]:
        return await run(request)
    return answer
