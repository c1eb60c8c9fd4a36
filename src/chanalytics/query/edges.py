"""Skip the raw slices of a window off the 15-minute grid when they would add nothing.

A window that ends at *now* (`timeRange`) or at an RFC 3339 instant has a partial
15-minute bucket at an edge, read from the raw table by every statement of the answer:
each such read costs as much as a whole statement. Widened to whole buckets, and on to
the end of its last UTC day, the window usually holds exactly the same events: nothing
has happened after *now*. Then every statement reads rollups only, daily ones for the
last day too.

One raw read checks that for every statement at once. It runs beside the widest answer
rather than before it (it costs as much as a statement, 10-20 ms through chDB); when it
finds events the widening would add, that answer is dropped and a narrower one computed:
whole buckets when only the rest of the day holds events, else the exact window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

from chanalytics.query.bounds import Cover, covering, has_raw_edges, range_params
from chanalytics.query.request import QueryRequest
from chanalytics.storage import Storage

T = TypeVar("T")

# Events of the tenant that widening the window adds: in its edge buckets (before
# `quarter_end`: the head slice lies before `start`, which is before it too), and in all.
SPILL_SQL = (
    "SELECT countIf(occurred_at < {quarter_end:DateTime64(3, 'UTC')}), count() "
    "FROM analytics_events WHERE tenant_id = {tenant:String} "
    "AND ((occurred_at >= {spill_start:DateTime64(3, 'UTC')} "
    "AND occurred_at < {start:DateTime64(3, 'UTC')}) "
    "OR (occurred_at >= {end:DateTime64(3, 'UTC')} "
    "AND occurred_at < {spill_end:DateTime64(3, 'UTC')}))"
)


async def answer_settled(
    storage: Storage, request: QueryRequest, run: Callable[[QueryRequest], Awaitable[T]],
) -> T:
    """`run(request)`, from the widest cover of the window (`bounds.Cover`) that adds no
    event of the tenant: the same answer, with fewer and cheaper reads."""
    window = range_params(request.tenant_id, request.window)
    if not has_raw_edges(window):
        return await run(request)
    # Only an end off the grid (*now*, mostly) is worth taking on to its day's end: a
    # window that ends at a local midnight would add the evening before the UTC one.
    widest = Cover.DAY_END if window["tail_start"] < window["end"] else Cover.BUCKETS
    # gather, not a TaskGroup: a failure must reach the caller as itself (a StorageError
    # is a 503), not wrapped in an ExceptionGroup
    answer: T
    spill, answer = await asyncio.gather(
        storage.query(SPILL_SQL, covering(window, widest)),
        run(msgspec.structs.replace(request, cover=widest)))
    in_edge_buckets, in_all = spill[0]
    if not in_all:
        return answer
    if widest is Cover.DAY_END and not in_edge_buckets:
        return await run(msgspec.structs.replace(request, cover=Cover.BUCKETS))
    return await run(request)
