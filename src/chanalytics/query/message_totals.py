"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.distinct import distinct_counts
from chanalytics.query.request import QueryRequest
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

# grouping() bits of message_counts.sql: 1 marks a column aggregated away in that set.
_BY_CHANNEL, _BY_BUCKET = 0b01, 0b10

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
    # With a channel filter, "all channels" is that one channel.
    overall = "channel" if request.channel else "all"
    counts, keys = await asyncio.gather(
        storage.query(statement("message_counts", buckets, params), params),
        distinct_counts(storage, params, buckets, [overall, "channel"],
                        series_level=overall if distinct_series else ""),
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
    for channel, distinct in keys.total["channel"].items():
        totals.channels[channel].update(distinct)
    totals.total.update(keys.total[overall][request.channel or ""])
    for bucket, distinct in keys.per_bucket.items():
        totals.buckets[bucket].update(distinct)
    return totals
