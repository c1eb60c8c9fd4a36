"""`GET /campaigns`: campaign totals, the top campaigns by messages sent, and a time series.

Campaign messages are message events with a `campaign_id`; `channel` filters those
only, never the `campaign_started`/`campaign_completed` lifecycle events.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import MEANS, metric_values
from chanalytics.query.model import Result
from chanalytics.query.names import Names
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.tables import CAMPAIGN_MESSAGES


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


class CampaignsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                    omit_defaults=True):
    time_range: TimeRange
    summary: CampaignsSummary
    top_campaigns: list[CampaignRow]
    time_series: list[CampaignPoint]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: CampaignsData | None = None
    change: dict[str, float | None] | None = None


PER_CAMPAIGN = ("message_events", "sent", "delivered", "opened", "clicked")
LIFECYCLE = ("campaigns_started", "campaigns_completed")
SERIES = ("sent", "delivered", "opened", "clicked")


async def campaigns(engine: Engine, request: QueryRequest) -> CampaignsData:
    """Campaigns active in the range, their recipients and rates, ranked by messages sent."""
    one = request.entity_filter("campaign")
    messages = (CAMPAIGN_MESSAGES, *request.channel_filter(), *one)
    counts: Result  # gather's mixed-type overload loses the types
    recipients: Result
    known: Names | None
    # Recipients only in total: distinct contacts are the costliest measure here (the
    # largest bench tenant's 30 days: 670k sends), so never per campaign.
    (counts, recipients, lifecycle, series), known = await asyncio.gather(
        engine.run_all(request.query(PER_CAMPAIGN, ("campaign",), filters=messages),
                       request.query(("recipients",), filters=messages),
                       request.query(LIFECYCLE, ("campaign",), filters=one),
                       request.query(SERIES, ("time",), filters=messages)),
        engine.all_names(request.tenant_id, "campaign"),
    )
    per_campaign = counts.by_one("campaign")
    events = lifecycle.by_one("campaign")
    # A campaign counts when it sent a campaign message or started in the range.
    active = sorted({c for c, v in per_campaign.items() if v["message_events"]}
                    | {c for c, v in events.items() if v["campaigns_started"]})
    zero = counts.zeros
    counted = [per_campaign[c] for c in active if c in per_campaign]
    top = sorted(active, key=lambda c: (-per_campaign.get(c, zero)["sent"], c))[: request.limit]
    names = await engine.latest_names(request.tenant_id, "campaign", top, known)

    def row(c: str) -> CampaignRow:
        v = per_campaign.get(c, zero)
        return CampaignRow(
            campaign_id=c, name=names[c], sent=v["sent"], delivered=v["delivered"],
            opened=v["opened"], clicked=v["clicked"],
            **metric_values(v, open_rate="openRate", click_rate="clickRate"))

    return CampaignsData(
        time_range=TimeRange.of(request.window),
        summary=CampaignsSummary(
            total_campaigns=len(active),
            completed_campaigns=sum(1 for v in events.values() if v["campaigns_completed"]),
            total_recipients=recipients.total()["recipients"],
            avg_open_rate=MEANS["avgOpenRate"].value(counted),
            avg_click_rate=MEANS["avgClickRate"].value(counted)),
        top_campaigns=[row(c) for c in top],
        time_series=[CampaignPoint(timestamp=start, **{name: v[name] for name in SERIES})
                     for start, v in series.series()],
    )
