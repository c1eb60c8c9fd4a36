"""Source events as they arrive on NATS JetStream (see `docs/events.md`).

Each subject family has one envelope type whose `data` is that family's struct, so
a single `msgspec` pass decodes and validates the envelope and the data together.
The validation rules live in the types (`Literal` enums, `Meta` bounds); the one
rule msgspec cannot express — the `timestamp` range — is checked by the mapper
entry point. Attribute names are snake_case; the wire names are camelCase.
Unknown fields are ignored. An optional field that is absent or `null` decodes to
`None` (publishers often serialise a missing value as `null`, and docs/events.md counts that
as absent); a `null` in a required field is a wrong type, so the event is invalid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

SUBJECTS: tuple[str, ...] = (
    "pipeline.message.sent",
    "pipeline.message.delivered",
    "pipeline.message.opened",
    "pipeline.message.clicked",
    "pipeline.message.bounced",
    "pipeline.message.complained",
    "pipeline.message.unsubscribed",
    "pipeline.message.failed",
    "campaign.started",
    "campaign.completed",
    "workflow.run.started",
    "workflow.run.completed",
    "workflow.run.goal_reached",
    "sequence.step.executed",
    "sequence.enrollment.enrolled",
    "sequence.enrollment.replied",
    "sequence.enrollment.completed",
    "sequence.enrollment.exited",
    "contact.created",
    "contact.updated",
)

# 2106-01-01T00:00:00Z: past it DateTime64(3) no longer round-trips everywhere.
EPOCH_MS_END = 4_291_747_200_000
INT64_MAX = 2**63 - 1
UINT32_MAX = 2**32 - 1

Channel = Literal["email", "sms", "whatsapp", "push"]
SourceType = Literal["campaign", "workflow", "sequence", "manual", "api"]
BounceType = Literal["hard", "soft"]
WorkflowStatus = Literal["completed", "failed"]

EnvelopeId = Annotated[str, Meta(min_length=1, max_length=128)]
# Entity ids (message, contact, template, campaign, …): the API filters on them with the
# same limit, so whatever is stored can be queried.
MAX_ID_LENGTH = 256
RequiredId = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
OptionalId = Annotated[str, Meta(max_length=MAX_ID_LENGTH)] | None
EpochMs = Annotated[int, Meta(ge=0, lt=EPOCH_MS_END)]
Timestamp = Annotated[datetime, Meta(tz=True)] | EpochMs
# Past a trillion USD a cost is a publisher's bug, and far below what the stored
# Decimal(38, 12) holds.
Cost = Annotated[float, Meta(ge=0, le=1e15)]
DurationMs = Annotated[int, Meta(ge=0, le=INT64_MAX)]
StepNumber = Annotated[int, Meta(ge=1, le=UINT32_MAX)]
RecipientCount = Annotated[int, Meta(ge=0, le=INT64_MAX)]
UserAgent = Annotated[str, Meta(max_length=1024)]
CountryCode = Annotated[str, Meta(pattern="^[A-Z]{2}$")]
City = Annotated[str, Meta(max_length=128)]


def event_type_for(subject: str) -> str:
    """Return the stored event type of a subject: `pipeline.message.sent` → `message_sent`."""
    return subject.removeprefix("pipeline.").replace(".", "_")


class _Data(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of every `data` struct: frozen, keyword-only, camelCase on the wire."""


class Geo(_Data, frozen=True, kw_only=True):
    """`data.geo` of opens and clicks: where the recipient was."""

    country: CountryCode | None = None
    city: City | None = None


class MessageData(_Data, frozen=True, kw_only=True):
    """`data` of `pipeline.message.*`."""

    message_id: RequiredId
    channel: Channel
    contact_id: OptionalId = None
    source_type: SourceType | None = None  # None: `manual`
    source_id: OptionalId = None
    template_id: OptionalId = None
    template_name: str | None = None
    provider: str | None = None
    cost: Cost | None = None
    duration_ms: DurationMs | None = None
    error_code: str | None = None
    bounce_type: BounceType | None = None
    url: str | None = None
    step_number: StepNumber | None = None
    metadata: dict[str, Any] | None = None
    user_agent: UserAgent | None = None
    geo: Geo | None = None
    machine_open: bool | None = None


class CampaignData(_Data, frozen=True, kw_only=True):
    """`data` of `campaign.*`."""

    campaign_id: RequiredId
    name: str | None = None
    channel: Channel | None = None
    recipient_count: RecipientCount | None = None


class WorkflowData(_Data, frozen=True, kw_only=True):
    """`data` of `workflow.run.started` and `workflow.run.goal_reached` (`status` ignored)."""

    workflow_id: RequiredId
    run_id: RequiredId
    name: str | None = None
    contact_id: OptionalId = None


class WorkflowCompletedData(WorkflowData, frozen=True, kw_only=True):
    """`data` of `workflow.run.completed`, the only workflow event carrying a `status`."""

    status: WorkflowStatus | None = None  # None: `completed`


class SequenceData(_Data, frozen=True, kw_only=True):
    """`data` of the sequence events whose `stepNumber` is optional (0 when absent)."""

    sequence_id: RequiredId
    enrollment_id: RequiredId
    name: str | None = None
    contact_id: OptionalId = None
    step_number: StepNumber | None = None


class SequenceStepData(SequenceData, frozen=True, kw_only=True):
    """`data` of `sequence.step.executed` and `sequence.enrollment.replied` (step required)."""

    step_number: StepNumber


class ContactData(_Data, frozen=True, kw_only=True):
    """`data` of `contact.*`."""

    contact_id: RequiredId
    source: str | None = None


class Envelope(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The fields every event shares; subclasses add the typed `data`."""

    id: EnvelopeId
    tenant_id: EnvelopeId
    timestamp: Timestamp
    type: str | None = None


class MessageEvent(Envelope, frozen=True, kw_only=True):
    """A `pipeline.message.*` event."""

    data: MessageData


class CampaignEvent(Envelope, frozen=True, kw_only=True):
    """A `campaign.*` event."""

    data: CampaignData


class WorkflowEvent(Envelope, frozen=True, kw_only=True):
    """A `workflow.run.started` or `workflow.run.goal_reached` event."""

    data: WorkflowData


class WorkflowCompletedEvent(Envelope, frozen=True, kw_only=True):
    """A `workflow.run.completed` event."""

    data: WorkflowCompletedData


class SequenceEvent(Envelope, frozen=True, kw_only=True):
    """A sequence event whose `stepNumber` is optional."""

    data: SequenceData


class SequenceStepEvent(Envelope, frozen=True, kw_only=True):
    """A `sequence.step.executed` or `sequence.enrollment.replied` event."""

    data: SequenceStepData


class ContactEvent(Envelope, frozen=True, kw_only=True):
    """A `contact.*` event."""

    data: ContactData


SourceEvent = (
    MessageEvent
    | CampaignEvent
    | WorkflowEvent
    | WorkflowCompletedEvent
    | SequenceEvent
    | SequenceStepEvent
    | ContactEvent
)


def _decoder_for(subject: str) -> msgspec.json.Decoder[Any]:
    family = subject.removeprefix("pipeline.").split(".", 1)[0]
    match family:
        case "message":
            return _MESSAGE
        case "campaign":
            return _CAMPAIGN
        case "workflow":
            return _WORKFLOW_COMPLETED if subject == "workflow.run.completed" else _WORKFLOW
        case "sequence":
            step_required = subject in ("sequence.step.executed", "sequence.enrollment.replied")
            return _SEQUENCE_STEP if step_required else _SEQUENCE
        case _:
            return _CONTACT


# Built once: a Decoder caches its type's validation plan.
_MESSAGE = msgspec.json.Decoder(MessageEvent)
_CAMPAIGN = msgspec.json.Decoder(CampaignEvent)
_WORKFLOW = msgspec.json.Decoder(WorkflowEvent)
_WORKFLOW_COMPLETED = msgspec.json.Decoder(WorkflowCompletedEvent)
_SEQUENCE = msgspec.json.Decoder(SequenceEvent)
_SEQUENCE_STEP = msgspec.json.Decoder(SequenceStepEvent)
_CONTACT = msgspec.json.Decoder(ContactEvent)

# subject → (decoder of its family, stored event type), looked up once per event.
ROUTES: dict[str, tuple[msgspec.json.Decoder[Any], str]] = {
    subject: (_decoder_for(subject), event_type_for(subject)) for subject in SUBJECTS
}
