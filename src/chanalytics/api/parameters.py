"""Query parameters of the analytics endpoints, and their documented error responses.

Every parameter is an optional string so that the endpoint, not the framework,
validates it: a bad value answers 400 with the parameter named in `error.field`. The
OpenAPI document still says what is accepted (enums, integer bounds, examples).
"""

from __future__ import annotations

from typing import Annotated

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from chanalytics.api.errors import ErrorEnvelope


def _example(value: str) -> list[Example]:
    return [Example(value=value)]


_PRESETS = {"enum": ["1d", "7d", "30d", "90d"]}
_RANGE = ("Preset range `1d`, `7d`, `30d` or `90d`: from local midnight N-1 days before "
          "today (in `timezone`) until now. Default {}. Ignored when startDate and endDate "
          "are given.")
TimeRange1d = Annotated[
    str | None, QueryParameter(name="timeRange", description=_RANGE.format("1d"),
                               schema_extra=_PRESETS, examples=_example("1d"))]
TimeRange7d = Annotated[
    str | None, QueryParameter(name="timeRange", description=_RANGE.format("7d"),
                               schema_extra=_PRESETS, examples=_example("7d"))]
TimeRange30d = Annotated[
    str | None, QueryParameter(name="timeRange", description=_RANGE.format("30d"),
                               schema_extra=_PRESETS, examples=_example("30d"))]
TimeRange90d = Annotated[
    str | None, QueryParameter(name="timeRange", description=_RANGE.format("90d"),
                               schema_extra=_PRESETS, examples=_example("90d"))]
StartDate = Annotated[str | None, QueryParameter(
    name="startDate",
    description="Start of a custom range, inclusive: `YYYY-MM-DD` (local midnight in "
                "`timezone`) or an RFC 3339 date-time with offset. Needs endDate.",
    examples=_example("2026-11-01"))]
EndDate = Annotated[str | None, QueryParameter(
    name="endDate",
    description="End of a custom range, exclusive: `YYYY-MM-DD` means the end of that day "
                "in `timezone`; or an RFC 3339 date-time with offset. Needs startDate; at "
                "most 400 days after it.", examples=_example("2026-12-01"))]
Timezone = Annotated[str | None, QueryParameter(
    name="timezone",
    description="IANA zone in which dates, buckets, hours and weekdays are read (any case). "
                "Default UTC.", examples=_example("Europe/Berlin"))]
_GRANULARITIES = {"enum": ["hour", "day", "week", "month"]}
_GRANULARITY = ("Time-series bucket: `hour`, `day`, `week` (from Monday) or `month`, in "
                "`timezone`. Default {}. At most 5,000 buckets.")
GranularityDay = Annotated[
    str | None, QueryParameter(name="granularity", description=_GRANULARITY.format("day"),
                               schema_extra=_GRANULARITIES)]
GranularityHour = Annotated[
    str | None, QueryParameter(name="granularity", description=_GRANULARITY.format("hour"),
                               schema_extra=_GRANULARITIES)]
_CHANNELS = {"enum": ["email", "sms", "whatsapp", "push"]}
Channel = Annotated[str | None, QueryParameter(
    name="channel", description="Only messages of this channel: email, sms, whatsapp or push.",
    schema_extra=_CHANNELS)]
CampaignChannel = Annotated[str | None, QueryParameter(
    name="channel",
    description="Only campaign messages of this channel (email, sms, whatsapp or push); "
                "campaign started/completed events are not filtered.", schema_extra=_CHANNELS)]
Limit = Annotated[str | None, QueryParameter(
    name="limit", description="Entries in each top list, 1 to 100. Default 10.",
    schema_extra={"pattern": "^[0-9]{1,3}$"}, examples=_example("10"))]
MinUsage = Annotated[str | None, QueryParameter(
    name="minUsage",
    description="Least usageCount a template needs to appear in worstPerforming. Default 100.",
    schema_extra={"pattern": "^[0-9]+$"}, examples=_example("100"))]
Provider = Annotated[str | None, QueryParameter(
    name="provider", description="Only messages of this provider (exact; `unknown`: "
    "messages that name none).", examples=_example("sendgrid"))]
SuppressionReason = Annotated[str | None, QueryParameter(
    name="reason", description="Only items whose earliest suppressing event is of this kind.",
    schema_extra={"enum": ["hard_bounce", "complaint", "unsubscribe"]})]
ContactId = Annotated[str | None, QueryParameter(
    name="contactId", description="Only this contact: is it suppressed, and where?")]
PageLimit = Annotated[str | None, QueryParameter(
    name="limit", description="Items per page, 1 to 1000. Default 100.",
    schema_extra={"pattern": "^[0-9]{1,4}$"}, examples=_example("100"))]
Cursor = Annotated[str | None, QueryParameter(
    name="cursor", description="`nextCursor` of the previous page.")]
CampaignId = Annotated[str | None, QueryParameter(
    name="campaignId", description="Only this campaign.")]
WorkflowId = Annotated[str | None, QueryParameter(
    name="workflowId", description="Only this workflow.")]
SequenceId = Annotated[str | None, QueryParameter(
    name="sequenceId", description="Only this sequence.")]
TemplateId = Annotated[str | None, QueryParameter(
    name="templateId", description="Only this template.")]
WindowHours = Annotated[str | None, QueryParameter(
    name="windowHours",
    description="How long after its send a message (or a run after its start) may reach "
                "each later step and still count: 1 to 720 hours. Default 72.",
    schema_extra={"pattern": "^[0-9]{1,3}$"}, examples=_example("72"))]

Compare = Annotated[str | None, QueryParameter(
    name="compare",
    description="`previous_period` (the window as long on the local clock of `timezone`, "
                "ending at the start: a week of local dates compares with the seven local "
                "days before it, across a clock change too) or `previous_year` (the same "
                "local dates a year earlier): adds `comparison` and `change`.",
    schema_extra={"enum": ["previous_period", "previous_year"]})]

def error_example(code: str, message: str, field: str | None = None) -> list[Example]:
    error = {"code": code, "message": message, **({"field": field} if field else {})}
    return [Example(summary=code, value={"success": False, "error": error})]


ERROR_RESPONSES = {
    400: ResponseSpec(data_container=ErrorEnvelope, generate_examples=False,
                      description="A parameter is invalid; `error.field` names it.",
                      examples=error_example("invalid_time_range",
                                             "timeRange must be one of 1d|7d|30d|90d",
                                             "timeRange")),
    401: ResponseSpec(data_container=ErrorEnvelope, generate_examples=False,
                      description="No bearer token, or an unknown one.",
                      examples=error_example("unauthorized", "unknown token")),
    503: ResponseSpec(data_container=ErrorEnvelope, generate_examples=False,
                      description="The analytics storage is not reachable.",
                      examples=error_example("storage_unavailable",
                                             "analytics storage is not reachable")),
}


def not_found(description: str, message: str) -> dict[int, ResponseSpec]:
    """The documented 404 of a path naming something the tenant does not have: the error
    envelope, as every error."""
    return {404: ResponseSpec(data_container=ErrorEnvelope, generate_examples=False,
                              description=description,
                              examples=error_example("not_found", message))}


LiveTicket = Annotated[str | None, QueryParameter(
    name="ticket", required=False,
    description="A ticket from POST /live/tickets, for clients that cannot send headers "
                "(a browser's EventSource): single use, 60 s.")]

EngagementLevel = Annotated[str | None, QueryParameter(
    name="level", description="Only contacts of this level (the counts in `levels` stay whole).",
    schema_extra={"enum": ["high", "medium", "low", "inactive"]})]
AsOf = Annotated[str | None, QueryParameter(
    name="asOf",
    description="The instant the answer is computed at, from every event stored before it: "
                "an RFC 3339 date-time with offset within the last 60 s. Default: one second "
                "back, to the whole second. With a cursor, the cursor's (or left out).",
    examples=_example("2026-12-07T10:15:00Z"))]
ContactPath = Annotated[str, PathParameter(
    name="contactId", description="The contact, as events name it (1 to 256 characters).",
    examples=_example("contact_1458"))]
