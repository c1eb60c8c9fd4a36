"""Skip the raw slices of a window off the 15-minute grid when they would add nothing.

A window that ends at *now* (`timeRange`) or at an RFC 3339 instant has a partial
15-minute bucket at an edge, read from the raw table by every statement of the answer:
each such read costs as much as a whole statement. The whole bucket usually holds
exactly the window's part of it: nothing has happened after *now*. One raw read checks
that for every statement at once; when it holds, the request is answered from whole
buckets only.
"""

from __future__ import annotations

import msgspec

from chanalytics.query.bounds import covering_buckets, has_raw_edges, range_params
from chanalytics.query.request import QueryRequest
from chanalytics.storage import Storage

# Events of the tenant in the parts of the edge buckets outside the window.
SPILL_SQL = (
    "SELECT count() FROM analytics_events WHERE tenant_id = {tenant:String} "
    "AND ((occurred_at >= {spill_start:DateTime64(3, 'UTC')} "
    "AND occurred_at < {start:DateTime64(3, 'UTC')}) "
    "OR (occurred_at >= {end:DateTime64(3, 'UTC')} "
    "AND occurred_at < {spill_end:DateTime64(3, 'UTC')}))"
)


async def settle_edges(storage: Storage, request: QueryRequest) -> QueryRequest:
    """`request`, marked to be answered from whole buckets when its edge buckets hold no
    event outside its window."""
    window = range_params(request.tenant_id, request.window)
    if not has_raw_edges(window):
        return request
    spill = await storage.query(SPILL_SQL, covering_buckets(window))
    if spill[0][0]:
        return request
    return msgspec.structs.replace(request, whole_buckets=True)
