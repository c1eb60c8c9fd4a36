"""The source event types: subjects, derived event types and one-pass decoding."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from chanalytics.mappers.events import (
    ROUTES,
    SUBJECTS,
    CampaignEvent,
    ContactEvent,
    MessageData,
    MessageEvent,
    SequenceEvent,
    SequenceStepEvent,
    WorkflowCompletedEvent,
    WorkflowEvent,
    event_type_for,
)

CONTRACT_SUBJECTS = {
    *(
        f"pipeline.message.{kind}"
        for kind in (
            "sent",
            "delivered",
            "opened",
            "clicked",
            "bounced",
            "complained",
            "unsubscribed",
            "failed",
        )
    ),
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
}


def encode(data: dict[str, Any], **envelope: Any) -> bytes:
    doc: dict[str, Any] = {
        "id": "evt-1",
        "tenantId": "tenant_acme",
        "timestamp": "2026-01-20T10:15:30.123Z",
        "data": data,
    }
    doc.update(envelope)
    return msgspec.json.encode(doc)


def decode(subject: str, raw: bytes) -> Any:
    decoder, _ = ROUTES[subject]
    return decoder.decode(raw)


class TestSubjects:
    def test_every_contract_subject_is_listed_once(self) -> None:
        """SUBJECTS holds exactly the twenty subjects of the contract, without duplicates."""
        assert len(SUBJECTS) == len(set(SUBJECTS)) == 20
        assert set(SUBJECTS) == CONTRACT_SUBJECTS

    def test_every_subject_has_a_route(self) -> None:
        """Each subject routes to a decoder and its derived event type, and nothing else does."""
        assert set(ROUTES) == set(SUBJECTS)
        for subject, (_, event_type) in ROUTES.items():
            assert event_type == event_type_for(subject)


class TestEventTypeFor:
    @pytest.mark.parametrize(
        ("subject", "event_type"),
        [
            ("pipeline.message.sent", "message_sent"),
            ("pipeline.message.unsubscribed", "message_unsubscribed"),
            ("campaign.started", "campaign_started"),
            ("workflow.run.goal_reached", "workflow_run_goal_reached"),
            ("sequence.step.executed", "sequence_step_executed"),
            ("sequence.enrollment.replied", "sequence_enrollment_replied"),
            ("contact.updated", "contact_updated"),
        ],
    )
    def test_drops_pipeline_prefix_and_replaces_dots(self, subject: str, event_type: str) -> None:
        """The stored event type drops `pipeline.` and turns dots into underscores."""
        assert event_type_for(subject) == event_type


class TestDecoders:
    @pytest.mark.parametrize(
        ("subject", "data", "event_class"),
        [
            ("pipeline.message.sent", {"messageId": "m", "channel": "sms"}, MessageEvent),
            ("campaign.started", {"campaignId": "c"}, CampaignEvent),
            ("workflow.run.started", {"workflowId": "w", "runId": "r"}, WorkflowEvent),
            (
                "workflow.run.completed",
                {"workflowId": "w", "runId": "r"},
                WorkflowCompletedEvent,
            ),
            (
                "sequence.enrollment.enrolled",
                {"sequenceId": "s", "enrollmentId": "e"},
                SequenceEvent,
            ),
            (
                "sequence.step.executed",
                {"sequenceId": "s", "enrollmentId": "e", "stepNumber": 1},
                SequenceStepEvent,
            ),
            ("contact.created", {"contactId": "c"}, ContactEvent),
        ],
    )
    def test_each_family_decodes_to_its_event_type(
        self, subject: str, data: dict[str, Any], event_class: type
    ) -> None:
        """A subject's decoder yields its family's event class with typed data in one pass."""
        event = decode(subject, encode(data))
        assert type(event) is event_class
        assert event.tenant_id == "tenant_acme"

    def test_wire_names_are_camel_case(self) -> None:
        """Attributes are snake_case while the JSON keys are camelCase."""
        raw = encode({"messageId": "m", "channel": "email", "durationMs": 12, "sourceType": "api"})
        data = decode("pipeline.message.delivered", raw).data
        assert (data.message_id, data.duration_ms, data.source_type) == ("m", 12, "api")

    def test_absent_optionals_take_their_defaults(self) -> None:
        """Absent optional fields decode to None (the mappers apply the contract defaults)."""
        data = decode("pipeline.message.sent", encode({"messageId": "m", "channel": "push"})).data
        assert data == MessageData(message_id="m", channel="push")
        assert data.source_type is None
        assert data.contact_id is None
        assert data.cost is None
        assert data.template_name is None
        assert data.metadata is None

    def test_unknown_fields_are_ignored_everywhere(self) -> None:
        """Unknown fields at the root and inside data are skipped, whatever their shape."""
        raw = encode(
            {"messageId": "m", "channel": "email", "future": {"deep": [1, {"x": None}]}},
            extra="ignored",
            version=3,
        )
        assert decode("pipeline.message.sent", raw).data.message_id == "m"

    def test_null_is_an_absent_optional(self) -> None:
        """A JSON null in an optional field decodes as if the field were absent."""
        nulls = {name: None for name in (
            "contactId", "sourceType", "sourceId", "templateId", "templateName", "provider",
            "cost", "durationMs", "errorCode", "bounceType", "url", "stepNumber", "metadata",
            "userAgent", "geo", "machineOpen")}
        raw = encode({"messageId": "m", "channel": "email", **nulls}, type=None)
        absent = decode("pipeline.message.sent", encode({"messageId": "m", "channel": "email"}))
        assert decode("pipeline.message.sent", raw).data == absent.data

    def test_null_in_a_required_field_is_invalid(self) -> None:
        """A JSON null where the contract requires a value is a wrong type."""
        raw = encode({"messageId": None, "channel": "email"})
        with pytest.raises(msgspec.ValidationError, match=r"\$\.data\.messageId"):
            decode("pipeline.message.sent", raw)

    def test_status_is_ignored_outside_completed(self) -> None:
        """`status` is not part of started/goal_reached data, so any value there is ignored."""
        raw = encode({"workflowId": "w", "runId": "r", "status": 42})
        event = decode("workflow.run.started", raw)
        assert not hasattr(event.data, "status")

    def test_step_number_required_only_where_the_contract_says(self) -> None:
        """`stepNumber` is required on step.executed and enrollment.replied only."""
        raw = encode({"sequenceId": "s", "enrollmentId": "e"})
        assert decode("sequence.enrollment.completed", raw).data.step_number is None
        for subject in ("sequence.step.executed", "sequence.enrollment.replied"):
            with pytest.raises(msgspec.ValidationError, match="stepNumber"):
                decode(subject, raw)
