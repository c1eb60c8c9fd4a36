"""`map_event`: one raw source event becomes one row, or an `InvalidEvent` with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from chanalytics.mappers import REASON_CODES, InvalidEvent, map_event
from chanalytics.mappers.rows import AnalyticsRow

OCCURRED = datetime(2026, 1, 20, 10, 15, 30, 123000, tzinfo=UTC)
DROP = object()
MESSAGE_SUBJECTS = [
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
]
MESSAGE_DATA = {"messageId": "msg-1", "channel": "email"}


def encode(data: Any, **envelope: Any) -> bytes:
    """Encode an event; an envelope field given as DROP is left out."""
    doc: dict[str, Any] = {
        "id": "evt-1",
        "tenantId": "tenant_acme",
        "timestamp": "2026-01-20T10:15:30.123Z",
        "data": data,
    }
    doc.update(envelope)
    return msgspec.json.encode({k: v for k, v in doc.items() if v is not DROP})


def message(**fields: Any) -> bytes:
    return encode({**MESSAGE_DATA, **fields})


def rejection(subject: str, raw: bytes) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        map_event(subject, raw)
    return info.value


def base_row(subject: str, **columns: Any) -> AnalyticsRow:
    event_type = subject.removeprefix("pipeline.").replace(".", "_")
    return AnalyticsRow(
        id="evt-1",
        tenant_id="tenant_acme",
        event_type=event_type,
        occurred_at=OCCURRED,
        **columns,
    )


class TestMessageMapping:
    @pytest.mark.parametrize("subject", MESSAGE_SUBJECTS)
    def test_every_field_lands_in_its_column(self, subject: str) -> None:
        """Each message subject maps every data field to its column, campaign_id from the source."""
        raw = message(
            contactId="ct-9",
            sourceType="campaign",
            sourceId="camp-7",
            templateId="tpl-3",
            templateName="Welcome",
            provider="ses",
            cost=0.0125,
            durationMs=840,
            errorCode="550",
            bounceType="hard",
            url="https://example.com/a",
            stepNumber=2,
            metadata={"locale": "en-US", "tags": [1, 2]},
            userAgent="Mozilla/5.0 (iPhone; Mobile)",
            geo={"country": "DE", "city": "Berlin"},
            machineOpen=True,
        )
        assert map_event(subject, raw, stream_seq=41) == base_row(
            subject,
            entity_type="message",
            entity_id="msg-1",
            channel="email",
            contact_id="ct-9",
            source_type="campaign",
            source_id="camp-7",
            campaign_id="camp-7",
            template_id="tpl-3",
            template_name="Welcome",
            provider="ses",
            cost=Decimal("0.0125"),
            duration_ms=840,
            error_code="550",
            bounce_type="hard",
            url="https://example.com/a",
            step_number=2,
            metadata='{"locale":"en-US","tags":[1,2]}',
            user_agent="Mozilla/5.0 (iPhone; Mobile)",
            geo_country="DE",
            geo_city="Berlin",
            machine_open=True,
            stream_seq=41,
        )

    def test_minimal_event_takes_defaults(self) -> None:
        """Absent optionals become "", None, 0, source `manual` and metadata "{}"."""
        assert map_event("pipeline.message.opened", message()) == base_row(
            "pipeline.message.opened",
            entity_type="message",
            entity_id="msg-1",
            channel="email",
            source_type="manual",
        )

    @pytest.mark.parametrize(
        ("source_type", "ids"),
        [
            ("campaign", ("src", "", "")),
            ("workflow", ("", "src", "")),
            ("sequence", ("", "", "src")),
            ("manual", ("", "", "")),
            ("api", ("", "", "")),
        ],
    )
    def test_source_id_fills_the_column_of_its_source_type(
        self, source_type: str, ids: tuple[str, str, str]
    ) -> None:
        """`sourceId` becomes campaign_id, workflow_id or sequence_id according to `sourceType`."""
        row = map_event("pipeline.message.sent", message(sourceType=source_type, sourceId="src"))
        assert (row.campaign_id, row.workflow_id, row.sequence_id) == ids
        assert (row.source_type, row.source_id) == (source_type, "src")

    def test_metadata_is_compact_json_text(self) -> None:
        """`metadata` is re-encoded without whitespace, nested values intact."""
        raw = (
            b'{"id":"evt-1","tenantId":"t","timestamp":0,"data":{"messageId":"m",'
            b'"channel":"sms","metadata": { "a" : [ 1 , {"b": null} ], "c": "\xc3\xa9" } }}'
        )
        row = map_event("pipeline.message.sent", raw)
        assert row.metadata == '{"a":[1,{"b":null}],"c":"é"}'

    def test_empty_metadata_object_is_kept(self) -> None:
        """An empty metadata object stores "{}" just like an absent one."""
        assert map_event("pipeline.message.sent", message(metadata={})).metadata == "{}"

    def test_zero_cost_and_duration_are_kept(self) -> None:
        """A present zero cost or duration is stored as 0, not as absent."""
        row = map_event("pipeline.message.sent", message(cost=0, durationMs=0))
        assert (row.cost, row.duration_ms) == (Decimal(0), 0)
        assert isinstance(row.cost, Decimal)

    @pytest.mark.parametrize(("given", "stored"), [
        (0.0075, "0.0075"), (12, "12"), (1e-12, "1E-12"), (0.1 + 0.2, "0.3"), (1e15, "1E+15")])
    def test_cost_is_the_decimal_as_written(self, given: float, stored: str) -> None:
        """A cost is stored as the decimal its JSON text says, to 12 decimal places."""
        row = map_event("pipeline.message.sent", message(cost=given))
        assert row.cost == Decimal(stored)

    def test_nulls_are_absent_fields(self) -> None:
        """Every optional field sent as null maps to the row of the field left out."""
        nulls = {name: None for name in (
            "contactId", "sourceType", "sourceId", "templateId", "templateName", "provider",
            "cost", "durationMs", "errorCode", "bounceType", "url", "stepNumber", "metadata",
            "userAgent", "geo", "machineOpen")}
        assert (map_event("pipeline.message.sent", message(**nulls))
                == map_event("pipeline.message.sent", message()))

    def test_partial_geo_is_kept(self) -> None:
        """A geo with only a country (or a null city) keeps the country."""
        row = map_event("pipeline.message.opened", message(geo={"country": "FR", "city": None}))
        assert (row.geo_country, row.geo_city, row.machine_open) == ("FR", "", False)

    def test_empty_template_name_counts_as_absent(self) -> None:
        """An empty `templateName` is stored as None so it never overwrites a real name."""
        assert map_event("pipeline.message.sent", message(templateName="")).template_name is None

    @pytest.mark.parametrize("field", ["messageId", "contactId", "templateId", "sourceId"])
    def test_ids_longer_than_the_api_can_query_are_invalid(self, field: str) -> None:
        """Ids of up to 256 characters are stored, as the API's id filters take them;
        a longer one could never be asked for, so the event is dead-lettered, naming it."""
        map_event("pipeline.message.sent", message(**{field: "x" * 256}))
        error = rejection("pipeline.message.sent", message(**{field: "x" * 257}))
        assert field in str(error)

    def test_unknown_fields_are_ignored(self) -> None:
        """Unknown fields at the root and inside data do not change the row."""
        raw = encode(
            {"messageId": "msg-1", "channel": "email", "newThing": {"x": [1]}},
            schemaVersion=2,
        )
        assert map_event("pipeline.message.sent", raw) == map_event(
            "pipeline.message.sent", message()
        )


class TestCampaignMapping:
    @pytest.mark.parametrize("subject", ["campaign.started", "campaign.completed"])
    def test_every_field_lands_in_its_column(self, subject: str) -> None:
        """The campaign is entity and campaign_id; name, channel and recipient count are kept."""
        raw = encode(
            {"campaignId": "camp-1", "name": "Spring", "channel": "whatsapp", "recipientCount": 0}
        )
        assert map_event(subject, raw, stream_seq=3) == base_row(
            subject,
            entity_type="campaign",
            entity_id="camp-1",
            campaign_id="camp-1",
            entity_name="Spring",
            channel="whatsapp",
            recipient_count=0,
            stream_seq=3,
        )

    def test_minimal_event_takes_defaults(self) -> None:
        """Without optionals, channel is "" and name and recipient count are None."""
        assert map_event("campaign.completed", encode({"campaignId": "camp-1"})) == base_row(
            "campaign.completed",
            entity_type="campaign",
            entity_id="camp-1",
            campaign_id="camp-1",
        )


class TestWorkflowMapping:
    @pytest.mark.parametrize("subject", ["workflow.run.started", "workflow.run.goal_reached"])
    def test_started_and_goal_reached_have_no_status(self, subject: str) -> None:
        """The run is the entity, the workflow its workflow_id, and status stays "" (ignored)."""
        raw = encode(
            {
                "workflowId": "wf-1",
                "runId": "run-1",
                "name": "Onboarding",
                "contactId": "ct-1",
                "status": "bogus",
            }
        )
        assert map_event(subject, raw, stream_seq=8) == base_row(
            subject,
            entity_type="workflow",
            entity_id="run-1",
            workflow_id="wf-1",
            entity_name="Onboarding",
            contact_id="ct-1",
            stream_seq=8,
        )

    @pytest.mark.parametrize(("given", "stored"), [(DROP, "completed"), ("failed", "failed")])
    def test_completed_has_a_status(self, given: object, stored: str) -> None:
        """On `completed` the status is stored, `completed` when absent."""
        data: dict[str, Any] = {"workflowId": "wf-1", "runId": "run-1"}
        if given is not DROP:
            data["status"] = given
        assert map_event("workflow.run.completed", encode(data)) == base_row(
            "workflow.run.completed",
            entity_type="workflow",
            entity_id="run-1",
            workflow_id="wf-1",
            status=stored,
        )


class TestSequenceMapping:
    @pytest.mark.parametrize(
        "subject",
        [
            "sequence.step.executed",
            "sequence.enrollment.enrolled",
            "sequence.enrollment.replied",
            "sequence.enrollment.completed",
            "sequence.enrollment.exited",
        ],
    )
    def test_every_field_lands_in_its_column(self, subject: str) -> None:
        """The enrollment is the entity, with sequence_id, name, contact and step number."""
        raw = encode(
            {
                "sequenceId": "seq-1",
                "enrollmentId": "enr-1",
                "name": "Nurture",
                "contactId": "ct-1",
                "stepNumber": 4294967295,
            }
        )
        assert map_event(subject, raw, stream_seq=5) == base_row(
            subject,
            entity_type="sequence",
            entity_id="enr-1",
            sequence_id="seq-1",
            entity_name="Nurture",
            contact_id="ct-1",
            step_number=4294967295,
            stream_seq=5,
        )

    @pytest.mark.parametrize(
        "subject",
        [
            "sequence.enrollment.enrolled",
            "sequence.enrollment.completed",
            "sequence.enrollment.exited",
        ],
    )
    def test_step_number_is_optional_elsewhere(self, subject: str) -> None:
        """Enrollment events other than `replied` store step 0 when `stepNumber` is absent."""
        row = map_event(subject, encode({"sequenceId": "seq-1", "enrollmentId": "enr-1"}))
        assert row.step_number == 0


class TestContactMapping:
    @pytest.mark.parametrize("subject", ["contact.created", "contact.updated"])
    def test_every_field_lands_in_its_column(self, subject: str) -> None:
        """The contact is entity and contact_id; `source` becomes contact_source."""
        raw = encode({"contactId": "ct-1", "source": "import"})
        assert map_event(subject, raw, stream_seq=2) == base_row(
            subject,
            entity_type="contact",
            entity_id="ct-1",
            contact_id="ct-1",
            contact_source="import",
            stream_seq=2,
        )


class TestTimestamps:
    @pytest.mark.parametrize(
        ("timestamp", "expected"),
        [
            ("2026-01-20T10:15:30.123Z", OCCURRED),
            ("2026-01-20T10:15:30.123+00:00", OCCURRED),
            ("2026-01-20T16:00:30.123+05:45", OCCURRED),
            ("2026-01-20T05:15:30.123-05:00", OCCURRED),
            ("2026-01-20T10:15:30.123987Z", OCCURRED),
            ("2026-01-20T10:15:30Z", OCCURRED.replace(microsecond=0)),
            (1768904130123, OCCURRED),
            (0, datetime(1970, 1, 1, tzinfo=UTC)),
            ("2105-12-31T23:59:59.999Z", datetime(2105, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ],
    )
    def test_accepted_forms_become_utc_milliseconds(
        self, timestamp: Any, expected: datetime
    ) -> None:
        """RFC 3339 with any offset and epoch milliseconds become UTC truncated to the ms."""
        row = map_event("contact.created", encode({"contactId": "c"}, timestamp=timestamp))
        assert row.occurred_at == expected
        assert row.occurred_at.tzinfo is UTC

    def test_offset_is_converted_to_utc(self) -> None:
        """A `+05:45` offset is subtracted, not dropped."""
        raw = encode({"contactId": "c"}, timestamp="2026-01-01T03:00:00+05:45")
        assert map_event("contact.created", raw).occurred_at == datetime(
            2025, 12, 31, 21, 15, tzinfo=UTC
        )

    @pytest.mark.parametrize(
        "timestamp",
        [
            "2026-01-20T10:15:30",
            "2026-01-20T10:15:30.123",
            "2026-01-20",
            "yesterday",
            "",
            1768904130123.0,
            1.5,
            True,
            None,
            -1,
            4291747200000,
            "1969-12-31T23:59:59.999Z",
            "1970-01-01T03:00:00+05:00",
            "2106-01-01T00:00:00Z",
            "2105-12-31T23:00:00-05:00",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            {"seconds": 1},
        ],
    )
    def test_rejected_forms(self, timestamp: Any) -> None:
        """Naive, malformed, float, bool, null and out-of-range timestamps are invalid-timestamp."""
        error = rejection("contact.created", encode({"contactId": "c"}, timestamp=timestamp))
        assert error.code == "invalid-timestamp"
        assert "timestamp" in error.message

    def test_missing_timestamp_is_invalid_timestamp(self) -> None:
        """An envelope without `timestamp` is rejected as invalid-timestamp."""
        error = rejection("contact.created", encode({"contactId": "c"}, timestamp=DROP))
        assert error.code == "invalid-timestamp"


class TestRejections:
    @pytest.mark.parametrize("raw", [b"", b" ", b"\n\t \r\n"])
    def test_empty_payload(self, raw: bytes) -> None:
        """A zero-length or whitespace-only payload is empty-payload."""
        assert rejection("contact.created", raw).code == "empty-payload"

    @pytest.mark.parametrize(
        "raw",
        [
            b"{",
            b"not json",
            b"{'id': 'x'}",
            b'{"id":"e","tenantId":"t","timestamp":0,"data":{"contactId":"c"}} trailing',
            b'{"id":"e","tenantId":"t","timestamp":0,"data":{"contactId":"c","x":"\xff"}}',
            b'{"id":"\xc3","tenantId":"t","timestamp":0,"data":{"contactId":"c"}}',
            "{}".encode("utf-16"),
        ],
    )
    def test_invalid_json(self, raw: bytes) -> None:
        """Unparseable JSON, trailing garbage and bytes that are not UTF-8 are invalid-json."""
        assert rejection("contact.created", raw).code == "invalid-json"

    @pytest.mark.parametrize(
        "subject", ["pipeline.message.read", "campaign", "contact.created.x", ""]
    )
    def test_unknown_subject(self, subject: str) -> None:
        """A subject outside the contract is unknown-subject and names the subject."""
        error = rejection(subject, encode({"contactId": "c"}))
        assert error.code == "unknown-subject"
        assert repr(subject) in error.message

    @pytest.mark.parametrize(
        "raw",
        [
            b"[]",
            b'"event"',
            b"42",
            b"null",
            encode({"contactId": "c"}, id=DROP),
            encode({"contactId": "c"}, tenantId=DROP),
            encode(DROP),
            encode({"contactId": "c"}, id=7),
            encode({"contactId": "c"}, tenantId=["t"]),
            encode({"contactId": "c"}, id=""),
            encode({"contactId": "c"}, tenantId=""),
            encode({"contactId": "c"}, id="x" * 129),
            encode({"contactId": "c"}, tenantId="t" * 129),
            encode(["c"]),
            encode(None),
            encode("c"),
        ],
    )
    def test_invalid_envelope(self, raw: bytes) -> None:
        """A non-object root, or a missing, mistyped or mis-sized id/tenantId/data, is rejected."""
        assert rejection("contact.created", raw).code == "invalid-envelope"

    def test_ids_of_128_chars_are_accepted(self) -> None:
        """The envelope id and tenantId may be up to 128 characters, counted as characters."""
        row = map_event(
            "contact.created", encode({"contactId": "c"}, id="é" * 128, tenantId="t" * 128)
        )
        assert (len(row.id), len(row.tenant_id)) == (128, 128)

    def test_id_of_129_chars_names_the_field(self) -> None:
        """The rejection of a too-long id names `$.id` in its message."""
        error = rejection("contact.created", encode({"contactId": "c"}, id="x" * 129))
        assert error.message == "Expected `str` of length <= 128 - at `$.id`"

    @pytest.mark.parametrize(
        "declared", ["message_delivered", "pipeline.message.delivered", "", 5]
    )
    def test_type_mismatch(self, declared: Any) -> None:
        """A `type` equal to neither the derived type nor the subject is type-mismatch."""
        error = rejection("pipeline.message.sent", encode(MESSAGE_DATA, type=declared))
        assert error.code == "type-mismatch"
        assert "$.type" in error.message

    @pytest.mark.parametrize("declared", ["message_sent", "pipeline.message.sent"])
    def test_type_agreeing_with_the_subject_is_accepted(self, declared: str) -> None:
        """A `type` equal to the derived event type or to the subject is accepted."""
        row = map_event("pipeline.message.sent", encode(MESSAGE_DATA, type=declared))
        assert row.event_type == "message_sent"

    @pytest.mark.parametrize(
        ("subject", "data", "path"),
        [
            ("pipeline.message.sent", {"messageId": "m", "channel": "fax"}, "$.data.channel"),
            ("pipeline.message.sent", {"messageId": "m"}, "$.data"),
            ("pipeline.message.sent", {"channel": "email"}, "$.data"),
            ("pipeline.message.sent", {"messageId": "", "channel": "email"}, "$.data.messageId"),
            ("pipeline.message.sent", {"messageId": 12, "channel": "email"}, "$.data.messageId"),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "sourceType": "ui"},
                "$.data.sourceType",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "cost": -0.01},
                "$.data.cost",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "cost": True},
                "$.data.cost",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "cost": "0.1"},
                "$.data.cost",
            ),
            (
                "pipeline.message.delivered",
                {"messageId": "m", "channel": "email", "durationMs": -1},
                "$.data.durationMs",
            ),
            (
                "pipeline.message.delivered",
                {"messageId": "m", "channel": "email", "durationMs": 1.5},
                "$.data.durationMs",
            ),
            (
                "pipeline.message.delivered",
                {"messageId": "m", "channel": "email", "durationMs": 2**63},
                "$.data.durationMs",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "stepNumber": 0},
                "$.data.stepNumber",
            ),
            (
                "pipeline.message.bounced",
                {"messageId": "m", "channel": "email", "bounceType": "x"},
                "$.data.bounceType",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "metadata": [1]},
                "$.data.metadata",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "metadata": "{}"},
                "$.data.metadata",
            ),
            (
                "pipeline.message.sent",
                {"messageId": None, "channel": "email"},
                "$.data.messageId",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": None},
                "$.data.channel",
            ),
            (
                "pipeline.message.opened",
                {"messageId": "m", "channel": "email", "userAgent": "x" * 1025},
                "$.data.userAgent",
            ),
            (
                "pipeline.message.opened",
                {"messageId": "m", "channel": "email", "geo": {"country": "de"}},
                "$.data.geo.country",
            ),
            (
                "pipeline.message.opened",
                {"messageId": "m", "channel": "email", "geo": {"city": "c" * 129}},
                "$.data.geo.city",
            ),
            (
                "pipeline.message.opened",
                {"messageId": "m", "channel": "email", "machineOpen": "yes"},
                "$.data.machineOpen",
            ),
            (
                "pipeline.message.sent",
                {"messageId": "m", "channel": "email", "cost": 1e16},
                "$.data.cost",
            ),
            ("campaign.started", {"campaignId": None}, "$.data.campaignId"),
            ("campaign.started", {"campaignId": ""}, "$.data.campaignId"),
            ("campaign.started", {"campaignId": "c", "channel": "fax"}, "$.data.channel"),
            (
                "campaign.started",
                {"campaignId": "c", "recipientCount": -1},
                "$.data.recipientCount",
            ),
            (
                "campaign.started",
                {"campaignId": "c", "recipientCount": True},
                "$.data.recipientCount",
            ),
            (
                "workflow.run.completed",
                {"workflowId": "w", "runId": "r", "status": "done"},
                "$.data.status",
            ),
            ("workflow.run.started", {"workflowId": "", "runId": "r"}, "$.data.workflowId"),
            ("workflow.run.started", {"workflowId": "w", "runId": ""}, "$.data.runId"),
            ("workflow.run.started", {"workflowId": "w"}, "$.data"),
            ("sequence.step.executed", {"sequenceId": "s", "enrollmentId": "e"}, "$.data"),
            ("sequence.enrollment.replied", {"sequenceId": "s", "enrollmentId": "e"}, "$.data"),
            (
                "sequence.step.executed",
                {"sequenceId": "s", "enrollmentId": "e", "stepNumber": 0},
                "$.data.stepNumber",
            ),
            (
                "sequence.enrollment.exited",
                {"sequenceId": "s", "enrollmentId": "e", "stepNumber": 2**32},
                "$.data.stepNumber",
            ),
            (
                "sequence.enrollment.enrolled",
                {"sequenceId": "", "enrollmentId": "e"},
                "$.data.sequenceId",
            ),
            (
                "sequence.enrollment.enrolled",
                {"sequenceId": "s", "enrollmentId": ""},
                "$.data.enrollmentId",
            ),
            ("contact.created", {"contactId": ""}, "$.data.contactId"),
            ("contact.updated", {}, "$.data"),
            ("contact.updated", {"contactId": "c", "source": 1}, "$.data.source"),
        ],
    )
    def test_invalid_data(self, subject: str, data: dict[str, Any], path: str) -> None:
        """Any broken rule inside `data` is invalid-data, and the message names the field."""
        error = rejection(subject, encode(data))
        assert error.code == "invalid-data"
        assert error.message.endswith(f"- at `{path}`")

    def test_wrong_type_message_names_the_field(self) -> None:
        """The message is msgspec's, naming expected and actual type and the path."""
        error = rejection("pipeline.message.sent", encode({"messageId": 12, "channel": "email"}))
        assert error.message == "Expected `str`, got `int` - at `$.data.messageId`"
        assert str(error) == f"invalid-data: {error.message}"


class TestInvalidEvent:
    def test_reason_codes_are_the_contract_set(self) -> None:
        """The reason codes are exactly the seven kebab-case DLQ reasons."""
        assert set(REASON_CODES) == {
            "empty-payload",
            "invalid-json",
            "unknown-subject",
            "invalid-envelope",
            "invalid-timestamp",
            "type-mismatch",
            "invalid-data",
        }

    def test_keeps_the_cause(self) -> None:
        """An InvalidEvent raised from a decode error chains the msgspec error as its cause."""
        error = rejection("contact.created", b"{")
        assert isinstance(error.__cause__, msgspec.DecodeError)

    def test_stream_seq_defaults_to_zero(self) -> None:
        """Without a stream sequence the row carries 0."""
        assert map_event("contact.created", encode({"contactId": "c"})).stream_seq == 0
