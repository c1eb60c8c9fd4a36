"""Message counts by channel, in total and per local bucket: the base of overview and messages."""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from chanalytics.query.bounds import has_partial_days, has_raw_edges
from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.distinct import distinct_counts
from chanalytics.query.request import QueryRequest, epoch
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
# The event type of each of COUNTED, at its index.
_COUNTED_INDEX = {f"message_{name}": i for i, name in enumerate(COUNTED)}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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
    # Whole UTC days in whole-day buckets: the daily rollup, about 96 times fewer rows.
    by_day = (buckets.series and buckets.utc_days
              and not has_raw_edges(params) and not has_partial_days(params))
    counts, keys = await asyncio.gather(
        storage.query(statement("message_counts_by_day", params=params) if by_day
                      else statement("message_counts", buckets, params), params),
        distinct_counts(storage, params, buckets, [overall, "channel"],
                        series_level=overall if distinct_series else ""),
    )
    totals = MessageTotals()
    rows = days_in_buckets(counts, buckets.starts) if by_day else counts
    for grouping_set, channel, bucket, events, *counted in rows:
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


def days_in_buckets(
    rows: Sequence[tuple[Any, ...]], starts: Sequence[datetime]
) -> list[tuple[Any, ...]]:
    """The rows of message_counts.sql from those of message_counts_by_day.sql: per channel
    and per bucket (the one holding the day) its message events and each counted type."""
    bucket_starts = [epoch(start) for start in starts]
    bucket_of: dict[date, int] = {}
    channels: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (1 + len(COUNTED)))
    buckets: defaultdict[int, list[int]] = defaultdict(lambda: [0] * (1 + len(COUNTED)))
    for channel, day, event_type, events in rows:
        bucket = bucket_of.get(day)
        if bucket is None:
            seconds = (day.toordinal() - _EPOCH_ORDINAL) * 86400
            bucket = bucket_of[day] = bucket_starts[bisect.bisect_right(bucket_starts, seconds) - 1]
        index = _COUNTED_INDEX.get(event_type)
        for counts in (channels[channel], buckets[bucket]):
            counts[0] += events
            if index is not None:
                counts[1 + index] += events
    return ([(_BY_CHANNEL, channel, 0, *counts) for channel, counts in channels.items()]
            + [(_BY_BUCKET, "", bucket, *counts) for bucket, counts in buckets.items()])
