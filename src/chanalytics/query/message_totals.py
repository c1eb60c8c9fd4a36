"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType

from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.distinct import distinct_counts
from chanalytics.query.request import QueryRequest
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

# grouping() bits of message_counts.sql: 1 marks a column aggregated away in that set.
_BY_CHANNEL, _BY_BUCKET = 0b01, 0b10

# Every message event counts toward "a channel with at least one message event".
EVENTS = "events"

# The event types counted as events, in the columns of message_counts.sql; opened and
# clicked count distinct messages (`distinct_counts`).
COUNTED = ("sent", "delivered", "bounced", "complained", "unsubscribed", "failed")


# A local bucket's counts before any row adds to them.
NO_COUNTS = MappingProxyType(dict.fromkeys((*COUNTED, "opened", "clicked"), 0))


@dataclass
class MessageTotals:
    """Counts keyed `sent`, `delivered`, `bounced`, … (events), `opened`/`clicked` (distinct
    messages) and, per channel, `events` (every message event).

    A bucket's counts are a plain dict holding every key: a series has up to 2,160 buckets,
    and adding to a `Counter` runs Python code per key.
    """

    total: Counter[str] = field(default_factory=Counter)
    channels: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    buckets: dict[int, dict[str, int]] = field(default_factory=dict)

    def bucket(self, start: int) -> dict[str, int]:
        """The counts of the bucket starting at epoch second `start`, to add to."""
        counts = self.buckets.get(start)
        if counts is None:
            counts = self.buckets[start] = dict(NO_COUNTS)
        return counts


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
    for grouping_set, channel, bucket, events, *counted in counts:
        named = dict(zip(COUNTED, counted, strict=True))
        if grouping_set == _BY_CHANNEL:
            counter = totals.channels[channel]
            counter[EVENTS] += events
            counter.update(named)
            totals.total.update(named)
        elif grouping_set == _BY_BUCKET:
            totals.bucket(bucket).update(named)  # one row per bucket: no sum needed
    for channel, distinct in keys.total["channel"].items():
        totals.channels[channel].update(distinct)
    totals.total.update(keys.total[overall][request.channel or ""])
    for bucket, distinct in keys.per_bucket.items():
        counts = totals.bucket(bucket)
        for metric, n in distinct.items():
            counts[metric] += n
    return totals
