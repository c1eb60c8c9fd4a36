"""A saved report as sent (`ReportDefinitionBody`) and as answered (`ReportView`).

The body's `query` is the body of `POST /query`, decoded by the same strict type, so a
key `POST /query` would refuse is refused here too (400 naming `query.<key>`). It is
checked as `POST /query` checks it, against a window ending now; each run checks it again
against its own instant (a relative `timeRange` is relative to each run). A report's file
holds every row: `limit` is not used, and `cursor` and `compare` are refused (a file has
no pages and no place for a comparison).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from chanalytics.deliveries import AddressPolicy, Delivery, check_webhook_url
from chanalytics.localtime import utc_text
from chanalytics.query.body import BodyDecoder
from chanalytics.query.errors import BadParameter
from chanalytics.query.report import Report, ReportBody, parse_report
from chanalytics.query.timerange import parse_window
from chanalytics.reports.schedule import Schedule, ScheduleBody

Format = Literal["csv", "ndjson", "json"]
MAX_DELIVERIES = 10


class ReportDefinitionBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                           forbid_unknown_fields=True):
    """`POST /reports` and `PUT /reports/{id}`: the whole definition."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    query: ReportBody
    format: Format
    schedule: ScheduleBody
    deliveries: Annotated[list[Delivery], msgspec.Meta(max_length=MAX_DELIVERIES)] = (
        msgspec.field(default_factory=list))


_decoder = BodyDecoder(ReportDefinitionBody, "invalid_report")
_stored = msgspec.json.Decoder(ReportDefinitionBody)


def run_report(body: ReportDefinitionBody, tenant_id: str, at: datetime) -> Report:
    """The report's query for a run at `at` (its window relative to `at`)."""
    q = body.query
    try:
        window = parse_window(time_range=q.time_range, start_date=q.start_date,
                              end_date=q.end_date, timezone=q.timezone,
                              default_range="30d", now=at)
        return parse_report(q, tenant_id, window)
    except BadParameter as exc:
        raise BadParameter(exc.code, exc.message, f"query.{exc.field or 'body'}") from None


async def parse_definition(raw: bytes, tenant_id: str, now: datetime,
                           policy: AddressPolicy) -> ReportDefinitionBody:
    """Decode and check a definition; a BadParameter (400) names the field at fault.
    Webhook hosts are resolved and checked against `policy` (`deliveries/safety.py`)."""
    body = _decoder.decode(raw)
    if body.query.cursor is not None:
        raise BadParameter("invalid_report", "a report has no pages: leave `cursor` out",
                           "query.cursor")
    if body.query.compare is not None:
        raise BadParameter("invalid_report", "a report's file has no comparison: leave "
                           "`compare` out", "query.compare")
    run_report(body, tenant_id, now)
    Schedule(body.schedule)
    for i, delivery in enumerate(body.deliveries):
        if delivery.webhook is not None:
            await check_webhook_url(delivery.webhook.url, policy,
                                    f"deliveries[{i}].webhook.url")
    return body


def encode_definition(body: ReportDefinitionBody) -> str:
    """As stored (secrets included: deliveries need them)."""
    return msgspec.json.encode(body).decode()


def decode_definition(text: str) -> ReportDefinitionBody:
    return _stored.decode(text)


class ReportView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A report as the API answers it: webhook secrets shown as `hasSecret` only."""

    id: str
    name: str
    query: dict[str, Any]
    format: Format
    schedule: ScheduleBody
    deliveries: list[dict[str, object]]
    created_at: str
    updated_at: str
    next_run_at: str


def view(report_id: str, body: ReportDefinitionBody, created_at: datetime,
         updated_at: datetime, next_run_at: datetime) -> ReportView:
    query = msgspec.to_builtins(body.query)
    return ReportView(
        id=report_id, name=body.name,
        # As sent, less what a file does not use (`limit`) and empty defaults.
        query={k: v for k, v in query.items() if v not in (None, []) and k != "limit"},
        format=body.format, schedule=body.schedule,
        deliveries=[d.public() for d in body.deliveries],
        created_at=utc_text(created_at), updated_at=utc_text(updated_at),
        next_run_at=utc_text(next_run_at))
