"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from chanalytics.query.request import QueryRequest
from chanalytics.query.statements import statement
from chanalytics.query.timerange import Granularity
from chanalytics.storage import Storage

# grouping() bits: 1 marks a column aggregated away in that grouping set.
_BY_CHANNEL, _BY_BUCKET, _OVERALL = 0b01, 0b10, 0b11

# Every message event counts toward "a channel with at least one message event".
EVENTS = "events"


@dataclass
class MessageTotals:
    """Counters keyed `sent`, `delivered`, `bounced`, … (events), `opened`/`clicked` (distinct
    messages) and `events` (every message event)."""

    total: Counter[str] = field(default_factory=Counter)
    channels: dict[str, Counter[str]] = field(default_factory=dict)
    buckets: dict[int, Counter[str]] = field(default_factory=dict)


async def message_totals(
    storage: Storage, request: QueryRequest, granularity: Granularity
) -> MessageTotals:
    """Event counts and distinct opened/clicked messages of the request's window and channel."""
    params = request.params()
    counts, keys = await asyncio.gather(
        storage.query(statement("message_counts", granularity), params),
        storage.query(statement("message_keys", granularity), params),
    )
    totals = MessageTotals()
    for grouping_set, channel, bucket, event_type, events in counts:
        name = event_type.removeprefix("message_")
        if grouping_set == _BY_CHANNEL:
            counter = totals.channels.setdefault(channel, Counter())
            counter[EVENTS] += events
            if name not in ("opened", "clicked"):
                counter[name] += events
                totals.total[name] += events
        elif grouping_set == _BY_BUCKET and name not in ("opened", "clicked"):
            totals.buckets.setdefault(bucket, Counter())[name] += events
    for grouping_set, channel, bucket, metric, messages in keys:
        if grouping_set == _BY_CHANNEL:
            totals.channels.setdefault(channel, Counter())[metric] = messages
        elif grouping_set == _OVERALL:
            totals.total[metric] = messages
        elif grouping_set == _BY_BUCKET:
            totals.buckets.setdefault(bucket, Counter())[metric] = messages
    return totals
