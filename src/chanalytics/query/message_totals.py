"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.distinct import distinct_counts
from chanalytics.query.request import QueryRequest
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

# grouping() bits of message_counts.sql: 1 marks a column aggregated away in that set.
_BY_CHANNEL, _BY_BUCKET = 0b01, 0b10

# Every message event counts toward "a channel with at least one message event".
EVENTS = "events"


class BucketEvents(NamedTuple):
    """A local bucket's message events of each type counted as events, in the columns of
    message_counts.sql (opened and clicked count distinct messages: `distinct_counts`)."""

    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0
    failed: int = 0


COUNTED = BucketEvents._fields
NO_EVENTS = BucketEvents()


@dataclass
class MessageTotals:
    """Counters keyed `sent`, `delivered`, `bounced`, … (events), `opened`/`clicked` (distinct
    messages) and `events` (every message event), in total and per channel; per local
    bucket (epoch seconds of its start) its events, and its distinct `opened`/`clicked`
    messages (`distinct[metric][bucket]`) when asked for.

    Per bucket no Counter: a series has up to 2,160 buckets, and adding to a Counter runs
    Python code per key.
    """

    total: Counter[str] = field(default_factory=Counter)
    channels: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    bucket_events: dict[int, BucketEvents] = field(default_factory=dict)
    distinct: defaultdict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(dict))


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
        if grouping_set == _BY_CHANNEL:
            named = dict(zip(COUNTED, counted, strict=True))
            counter = totals.channels[channel]
            counter[EVENTS] += events
            counter.update(named)
            totals.total.update(named)
        elif grouping_set == _BY_BUCKET:  # one row per bucket
            totals.bucket_events[bucket] = BucketEvents(*counted)
    for channel, distinct in keys.total["channel"].items():
        totals.channels[channel].update(distinct)
    totals.total.update(keys.total[overall][request.channel or ""])
    totals.distinct = keys.per_bucket
    return totals
