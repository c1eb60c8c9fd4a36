"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.request import QueryRequest
from chanalytics.query.statements import statement
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
    channels: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    buckets: defaultdict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


async def message_totals(
    storage: Storage, request: QueryRequest, buckets: LocalBuckets, *, distinct_series: bool
) -> MessageTotals:
    """Event counts and distinct opened/clicked messages of the request's window and channel.

    Per bucket there are always event counts; distinct opened/clicked messages per bucket
    only with `distinct_series`.
    """
    params = request.params(**buckets.params())
    # One pass over the keys either way: a third grouping set costs less than a statement.
    keys_sql = (statement("message_keys", buckets, params) if distinct_series
                else statement("message_total_keys", params=params))
    counts, keys = await asyncio.gather(
        storage.query(statement("message_counts", buckets, params), params),
        storage.query(keys_sql, params),
    )
    totals = MessageTotals()
    for grouping_set, channel, bucket, event_type, events in counts:
        name = event_type.removeprefix("message_")
        if grouping_set == _BY_CHANNEL:
            counter = totals.channels[channel]
            counter[EVENTS] += events
            if name not in ("opened", "clicked"):
                counter[name] += events
                totals.total[name] += events
        elif grouping_set == _BY_BUCKET and name not in ("opened", "clicked"):
            totals.buckets[bucket][name] += events
    for grouping_set, channel, bucket, metric, messages in keys:
        if grouping_set == _BY_CHANNEL:
            totals.channels[channel][metric] = messages
        elif grouping_set == _OVERALL:
            totals.total[metric] = messages
        elif grouping_set == _BY_BUCKET:
            totals.buckets[bucket][metric] = messages
    return totals
