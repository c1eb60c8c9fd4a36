"""Fuzzing the decode-and-map step: stored as the contract maps it, or rejected with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chanalytics.mappers import REASON_CODES, InvalidEvent, map_event
from chanalytics.mappers.events import SUBJECTS, event_type_for
from chanalytics.mappers.rows import AnalyticsRow

FIELDS = ["messageId", "channel", "contactId", "sourceType", "sourceId", "templateId",
          "templateName", "provider", "cost", "durationMs", "errorCode", "bounceType", "url",
          "stepNumber", "metadata", "campaignId", "name", "recipientCount", "workflowId",
          "runId", "status", "sequenceId", "enrollmentId", "source"]
ENUM_VALUES = ["email", "sms", "whatsapp", "push", "campaign", "workflow", "sequence", "manual",
               "api", "hard", "soft", "completed", "failed", "fax", ""]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(ENUM_VALUES),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
timestamps = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                 timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    st.integers(min_value=-(2**40), max_value=2**45), json_scalars)
data_dicts = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=12)
envelopes = st.fixed_dictionaries(
    {},
    optional={"id": st.one_of(st.text(min_size=1, max_size=130), json_scalars),
              "tenantId": st.one_of(st.text(min_size=1, max_size=130), json_scalars),
              "timestamp": timestamps,
              "data": st.one_of(data_dicts, json_values),
              "type": st.one_of(st.sampled_from(SUBJECTS), st.sampled_from(
                  [event_type_for(s) for s in SUBJECTS]), json_scalars),
              "extra": json_values})


ids = st.text(min_size=1, max_size=40)
VALID_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "contactId": ids, "sourceType": st.sampled_from(
        ["campaign", "workflow", "sequence", "manual", "api"]),
    "sourceId": ids, "templateId": ids, "templateName": st.text(max_size=20),
    "provider": st.text(max_size=10), "cost": st.floats(min_value=0, max_value=1e6),
    "durationMs": st.integers(min_value=0, max_value=2**40), "errorCode": st.text(max_size=8),
    "bounceType": st.sampled_from(["hard", "soft"]), "url": st.text(max_size=30),
    "stepNumber": st.integers(min_value=1, max_value=10**6),
    "metadata": st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
    "name": st.text(max_size=20), "channel": st.sampled_from(["email", "sms", "whatsapp", "push"]),
    "recipientCount": st.integers(min_value=0, max_value=10**9), "status": st.sampled_from(
        ["completed", "failed"]), "source": st.text(max_size=10),
}
REQUIRED = {"pipeline": ["messageId", "channel"], "campaign": ["campaignId"],
            "workflow": ["workflowId", "runId"], "sequence": ["sequenceId", "enrollmentId"],
            "contact": ["contactId"]}


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A contract-valid event, with one field replaced by junk a third of the time."""
    subject = draw(st.sampled_from(SUBJECTS))
    family = subject.split(".")[0]
    data: dict[str, Any] = {k: draw(ids) for k in REQUIRED[family]}
    if family == "pipeline":
        data["channel"] = draw(VALID_OPTIONAL["channel"])
    if subject in ("sequence.step.executed", "sequence.enrollment.replied"):
        data["stepNumber"] = draw(VALID_OPTIONAL["stepNumber"])
    for key in draw(st.lists(st.sampled_from(sorted(VALID_OPTIONAL)), max_size=6, unique=True)):
        data.setdefault(key, draw(VALID_OPTIONAL[key]))
    when = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                             timezones=st.just(UTC)))
    env: dict[str, Any] = {"id": draw(st.text(min_size=1, max_size=128)),
                           "tenantId": draw(st.text(min_size=1, max_size=128)),
                           "timestamp": draw(st.sampled_from(
                               [when.isoformat(), int(when.timestamp() * 1000)])),
                           "data": data}
    if draw(st.integers(0, 2)) == 0:
        target = draw(st.sampled_from(["id", "tenantId", "timestamp", "data", "type"]))
        if target == "data" and data:
            data[draw(st.sampled_from(sorted(data)))] = draw(json_values)
        else:
            env[target] = draw(json_values)
    return subject, env


def _check_row(row: AnalyticsRow, subject: str, env: dict[str, Any]) -> None:
    assert row.id == env["id"] and row.tenant_id == env["tenantId"]
    assert 1 <= len(row.id) <= 128 and 1 <= len(row.tenant_id) <= 128
    assert row.event_type == event_type_for(subject)
    assert row.occurred_at.tzinfo is not None
    assert datetime(1970, 1, 1, tzinfo=UTC) <= row.occurred_at < datetime(2106, 1, 1, tzinfo=UTC)
    data = env["data"]
    family = subject.split(".")[0]
    key = {"pipeline": "messageId", "campaign": "campaignId", "workflow": "runId",
           "sequence": "enrollmentId", "contact": "contactId"}[family]
    assert row.entity_id == data[key] != ""
    if family == "pipeline":
        assert row.channel in ("email", "sms", "whatsapp", "push")
        source_type = data.get("sourceType", "manual")
        assert row.source_type == source_type
        assert row.campaign_id == (data.get("sourceId", "") if source_type == "campaign" else "")
        assert row.cost is None or row.cost >= 0
    json.loads(row.metadata)
    # Every row the mapper accepts can be encoded for the insert.
    msgspec.json.encode(row)


class TestMapperFuzz:
    @settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(subject=st.sampled_from(SUBJECTS), env=envelopes)
    def test_any_envelope_is_mapped_or_rejected_with_a_reason(
        self, subject: str, env: dict[str, Any]
    ) -> None:
        """Any JSON object on any subject becomes the contract's row or an InvalidEvent."""
        payload = msgspec.json.encode(env)
        try:
            row = map_event(subject, payload, 1)
        except InvalidEvent as exc:
            assert exc.code in REASON_CODES and exc.message
            event(f"rejected: {exc.code}")
            return
        event("mapped")
        _check_row(row, subject, env)

    @settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=valid_events())
    def test_valid_events_map_and_mutants_are_rejected(
        self, case: tuple[str, dict[str, Any]]
    ) -> None:
        """Contract-valid events map to the contract's row; mutated ones map or are rejected."""
        subject, env = case
        try:
            row = map_event(subject, msgspec.json.encode(env), 1)
        except InvalidEvent as exc:
            assert exc.code in REASON_CODES and exc.message
            event(f"rejected: {exc.code}")
            return
        event("mapped")
        _check_row(row, subject, env)

    @settings(max_examples=500, deadline=None)
    @given(subject=st.one_of(st.sampled_from(SUBJECTS), st.text(max_size=30)),
           payload=st.binary(max_size=200))
    def test_any_bytes_are_mapped_or_rejected(self, subject: str, payload: bytes) -> None:
        """Arbitrary bytes on any subject never raise anything but InvalidEvent."""
        try:
            map_event(subject, payload, 1)
        except InvalidEvent as exc:
            assert exc.code in REASON_CODES
