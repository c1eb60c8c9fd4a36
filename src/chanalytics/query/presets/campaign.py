"""`GET /campaigns/{campaignId}`: one campaign in depth — its lifecycle, its numbers with
rates, per channel and over time, its links, the devices and places it was opened from —
and `GET /campaigns/compare`: the same numbers for 2 to 10 campaigns side by side.

Counts are over the campaign's message events in the window; `channel` filters them, not
the campaign's own started/completed events, which are read over all time. Opens per
device and per place count opened events (`opens`), links their click events and distinct
clicked messages (`clicks`, `uniqueClicks`): the raw table answers these, no rollup keeps
user agents, places or links.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from chanalytics.localtime import utc_text
from chanalytics.query.engine import Engine
from chanalytics.query.errors import NotFound
from chanalytics.query.metrics import metric_values
from chanalytics.query.model import Filter, Result
from chanalytics.query.names import Names
from chanalytics.query.presets.campaigns import SERIES, CampaignPoint
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.timerange import LATEST

Values = Mapping[str, Any]

# "Over all time": from the first instant an event can hold to past the last.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEVICES = ("mobile", "tablet", "desktop", "unknown")
MAX_PLACES = 20

# The overview's fields, by catalogue name, and the measures they read.
OVERVIEW = {
    "sent": "sent", "delivered": "delivered", "failed": "failed", "bounced": "bounced",
    "opened": "opened", "clicked": "clicked", "human_opened": "humanOpened",
    "unique_recipients": "uniqueRecipients", "unique_openers": "uniqueOpeners",
    "unique_clickers": "uniqueClickers", "delivery_rate": "deliveryRate",
    "open_rate": "openRate", "human_open_rate": "humanOpenRate", "click_rate": "clickRate",
    "click_to_open_rate": "clickToOpenRate", "total_cost": "totalCost",
    "avg_delivery_ms": "avgDeliveryMs"}
OVERVIEW_MEASURES = ("sent", "delivered", "failed", "bounced", "cost", "duration_sum",
                     "samples", "opened", "clicked", "human_opened", "recipients", "openers",
                     "clickers")
PER_CHANNEL = ("sent", "delivered", "failed", "cost", "message_events")
# The campaign's first start and last completion, over all time.
LIFECYCLE = ("campaign_first_started", "campaign_last_completed")


class CampaignOverview(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sent: int
    delivered: int
    failed: int
    bounced: int
    opened: int
    clicked: int
    human_opened: int
    unique_recipients: int
    unique_openers: int
    unique_clickers: int
    delivery_rate: float
    open_rate: float
    human_open_rate: float
    click_rate: float
    click_to_open_rate: float
    total_cost: float
    avg_delivery_ms: float | None


class CampaignInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    campaign_id: str
    name: str | None
    started_at: str | None
    completed_at: str | None


class ChannelCampaignTotals(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: str
    sent: int
    delivered: int
    failed: int
    total_cost: float


class LinkClicks(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    url: str
    clicks: int
    unique_clicks: int


class DeviceOpens(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    device: str
    opens: int


class PlaceOpens(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    country: str
    city: str | None
    opens: int


class CampaignData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                   omit_defaults=True):
    time_range: TimeRange
    campaign: CampaignInfo
    overview: CampaignOverview
    by_channel: list[ChannelCampaignTotals]
    time_series: list[CampaignPoint]
    top_links: list[LinkClicks]
    devices: list[DeviceOpens]
    geo: list[PlaceOpens]
    # With `compare`: the answer for the previous window, and the change of each
    # overview number (`query/compare.py`).
    comparison: CampaignData | None = None
    change: dict[str, float | None] | None = None


class ComparedCampaign(CampaignOverview, frozen=True, kw_only=True, rename="camel"):
    campaign_id: str
    name: str | None


class CampaignComparisonData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                             omit_defaults=True):
    time_range: TimeRange
    campaigns: list[ComparedCampaign]
    comparison: CampaignComparisonData | None = None
    change: dict[str, float | None] | None = None


def overview_values(v: Values) -> dict[str, Any]:
    """The overview's fields of one row of `OVERVIEW_MEASURES`, from the catalogue."""
    return metric_values(v, **OVERVIEW)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


async def campaign(engine: Engine, request: QueryRequest) -> CampaignData:
    """One campaign's answer; NotFound when no event of the tenant ever named it."""
    campaign_id = request.entity_id
    if campaign_id is None:
        raise ValueError("a campaign's answer needs its id")
    one = (Filter("campaign", "is", (campaign_id,)),)
    messages = (*one, *request.channel_filter())
    ever = msgspec.structs.replace(  # "over all time"
        request, window=msgspec.structs.replace(request.window, start=EPOCH, end=LATEST))
    results: list[Result]  # gather's mixed-type overload loses the types
    names: Names
    results, names = await asyncio.gather(
        engine.run_all(
            request.query(OVERVIEW_MEASURES, filters=messages),
            request.query(PER_CHANNEL, ("channel",), filters=messages),
            request.query(SERIES, ("time",), filters=messages),
            request.query(("click_events", "clicked"), ("url",), filters=messages),
            request.query(("open_events",), ("device",), ("country", "city"), filters=messages),
            ever.query(LIFECYCLE, filters=one)),
        engine.latest_names(request.tenant_id, "campaign", (campaign_id,)))
    totals, channels, series, links, opens, lifecycle = results
    known = lifecycle.total()
    in_window = any(v["message_events"] for v in channels.by_one("channel").values())
    if not in_window and all(known[m] is None for m in LIFECYCLE):
        # Only now, when neither its messages in the window nor its own events name it,
        # ask whether any message ever did: over all time, that reads every day the
        # per-campaign rollup holds for the tenant.
        ever_sent = await engine.run(ever.query(("message_events",), filters=one))
        if not ever_sent.total()["message_events"]:
            raise NotFound(f"no campaign {campaign_id!r}")
    devices = opens.by_one("device")
    return CampaignData(
        time_range=TimeRange.of(request.window),
        campaign=CampaignInfo(
            campaign_id=campaign_id, name=names[campaign_id],
            started_at=_instant(known["campaign_first_started"]),
            completed_at=_instant(known["campaign_last_completed"])),
        overview=CampaignOverview(**overview_values(totals.total())),
        by_channel=_by_channel(channels),
        time_series=[CampaignPoint(timestamp=start, **{name: v[name] for name in SERIES})
                     for start, v in series.series()],
        top_links=_top_links(links, request.limit),
        devices=[DeviceOpens(device=d, **metric_values(devices.get(d, opens.zeros), opens="opens"))
                 for d in DEVICES],
        geo=_places(opens),
    )


def _by_channel(result: Result) -> list[ChannelCampaignTotals]:
    rows = [ChannelCampaignTotals(channel=channel, sent=v["sent"], delivered=v["delivered"],
                                  failed=v["failed"], **metric_values(v, total_cost="totalCost"))
            for channel, v in result.by_one("channel").items() if v["message_events"]]
    return sorted(rows, key=lambda row: (-row.sent, row.channel))


def _top_links(result: Result, limit: int) -> list[LinkClicks]:
    """Links by click events, then by url; at most `limit`."""
    rows = [LinkClicks(url=url, **metric_values(v, clicks="clicks", unique_clicks="uniqueClicks"))
            for url, v in result.by_one("url").items() if url is not None and v["click_events"]]
    return sorted(rows, key=lambda row: (-row.clicks, row.url))[:limit]


def _places(result: Result) -> list[PlaceOpens]:
    """Opens per country and city (a city unknown first), most first; at most 20."""
    rows = [PlaceOpens(country=country, city=city, **metric_values(v, opens="opens"))
            for (country, city), v in result.by(("country", "city")).items()
            if country is not None and v["open_events"]]
    rows.sort(key=lambda row: (-row.opens, row.country, row.city is not None, row.city or ""))
    return rows[:MAX_PLACES]


async def campaign_comparison(engine: Engine, request: QueryRequest) -> CampaignComparisonData:
    """The overview of each listed campaign, in the order asked; zeros for one without
    events in the window (or none at all)."""
    ids = request.entity_ids
    filters = (Filter("campaign", "is", ids), *request.channel_filter())
    results: list[Result]
    names: Names
    results, names = await asyncio.gather(
        engine.run_all(request.query(OVERVIEW_MEASURES, ("campaign",), filters=filters)),
        engine.latest_names(request.tenant_id, "campaign", ids))
    (result,) = results
    per_campaign = result.by_one("campaign")
    return CampaignComparisonData(
        time_range=TimeRange.of(request.window),
        campaigns=[ComparedCampaign(campaign_id=c, name=names[c],
                                    **overview_values(per_campaign.get(c, result.zeros)))
                   for c in ids])
