"""`GET /campaigns`: campaign totals, the top campaigns by messages sent, and a time series.

Campaign messages are message events with a `campaign_id`; `channel` filters those
only, never the `campaign_started`/`campaign_completed` lifecycle events.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import NamedTuple

import msgspec

from chanalytics.query.buckets import local_buckets
from chanalytics.query.distinct import DistinctCounts, distinct_counts
from chanalytics.query.names import Names, all_names, latest_names
from chanalytics.query.rates import mean_percent, percent
from chanalytics.query.request import QueryRequest, TimeRange, epoch
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

# The grouping_set codes of campaign_counts.sql: per campaign, per local bucket.
_BY_CAMPAIGN, _BY_BUCKET = 0b01, 0b10


class CampaignEvents(NamedTuple):
    """A campaign's (or a local bucket's) counts, in the columns of campaign_counts.sql:
    campaign message events of every type, sent, delivered, and lifecycle events."""

    message_events: int = 0
    sent: int = 0
    delivered: int = 0
    started: int = 0
    completed: int = 0


_NO_EVENTS = CampaignEvents()


class CampaignsSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total_campaigns: int
    completed_campaigns: int
    total_recipients: int
    avg_open_rate: float
    avg_click_rate: float


class CampaignRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    campaign_id: str
    name: str | None
    sent: int
    delivered: int
    opened: int
    clicked: int
    open_rate: float
    click_rate: float


class CampaignPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    sent: int
    delivered: int
    opened: int
    clicked: int


class CampaignsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: CampaignsSummary
    top_campaigns: list[CampaignRow]
    time_series: list[CampaignPoint]


class CampaignsQuery:
    """Answers `campaigns` from the campaign, lifecycle and chain rollups (plus raw edges)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> CampaignsData:
        buckets = local_buckets(request.window, request.granularity)
        params = request.params(campaign_id=request.entity_id or "", **buckets.params())
        # Chain levels: split by channel when the request filters on one (chains.py).
        split = "+channel" if request.channel else ""
        per_campaign = f"campaign{split}"
        series = per_campaign if request.entity_id else f"any-campaign{split}"
        recipients = per_campaign if request.entity_id else ("channel" if split else "all")
        # Metrics a level does not need cost little where the daily chains answer.
        keys: DistinctCounts  # gather's mixed-type overload loses the types
        known: Names | None
        count_rows, keys, known = await asyncio.gather(
            self.storage.query(statement("campaign_counts", buckets, params), params),
            distinct_counts(self.storage, params, buckets, [per_campaign, recipients, series],
                            ["opened", "clicked", "campaign_recipient"], series_level=series),
            all_names(self.storage, request.tenant_id, "campaign"),
        )
        events: dict[str, CampaignEvents] = {}
        bucket_events: dict[int, CampaignEvents] = {}
        for grouping_set, campaign_id, bucket, *counted in count_rows:  # one row each
            if grouping_set == _BY_CAMPAIGN:
                events[campaign_id] = CampaignEvents(*counted)
            elif grouping_set == _BY_BUCKET:
                bucket_events[bucket] = CampaignEvents(*counted)
        recipient_group = request.entity_id or request.channel or ""

        def distinct(campaign_id: str, metric: str) -> int:
            return keys.of(per_campaign, campaign_id, metric)

        # A campaign counts when it sent a campaign message or started in the range.
        campaigns = sorted(c for c, counts in events.items()
                           if counts.started > 0 or counts.message_events > 0)
        delivering = [c for c in campaigns if events[c].delivered > 0]
        summary = CampaignsSummary(
            total_campaigns=len(campaigns),
            completed_campaigns=sum(1 for c in events.values() if c.completed > 0),
            total_recipients=keys.of(recipients, recipient_group, "campaign_recipient"),
            avg_open_rate=mean_percent(
                (distinct(c, "opened"), events[c].delivered) for c in delivering),
            avg_click_rate=mean_percent(
                (distinct(c, "clicked"), events[c].delivered) for c in delivering),
        )
        top = sorted(campaigns, key=lambda c: (-events[c].sent, c))[: request.limit]
        names = await latest_names(self.storage, request.tenant_id, "campaign", top, known)
        rows = []
        for c in top:
            sent, delivered = events[c].sent, events[c].delivered
            opened, clicked = distinct(c, "opened"), distinct(c, "clicked")
            rows.append(CampaignRow(
                campaign_id=c, name=names[c], sent=sent, delivered=delivered, opened=opened,
                clicked=clicked, open_rate=percent(opened, delivered),
                click_rate=percent(clicked, delivered)))
        points = []
        opened_in, clicked_in = keys.per_bucket["opened"], keys.per_bucket["clicked"]
        for s in buckets.starts:
            at = epoch(s)
            counts = bucket_events.get(at, _NO_EVENTS)
            points.append(CampaignPoint(
                timestamp=s, sent=counts.sent, delivered=counts.delivered,
                opened=opened_in.get(at, 0), clicked=clicked_in.get(at, 0)))
        return CampaignsData(time_range=TimeRange.of(request.window), summary=summary,
                             top_campaigns=rows, time_series=points)
