"""`GET /sequences`: enrollment totals, active enrollments, a step funnel and top sequences."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import msgspec

from chanalytics.query.names import Names, all_names, latest_names
from chanalytics.query.rates import percent
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.statements import statement
from chanalytics.storage import Storage

# grouping(sequence_id, step_number): 1 marks a column aggregated away.
_BY_SEQUENCE, _BY_STEP, _OVERALL = 0b01, 0b10, 0b11


class SequencesSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total_enrollments: int
    active_enrollments: int
    completed_enrollments: int
    replied_enrollments: int
    avg_reply_rate: float


class StepRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    step_number: int
    executed: int
    replied: int


class SequenceRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    sequence_id: str
    name: str | None
    enrollments: int
    replied: int
    reply_rate: float


class SequencesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: SequencesSummary
    step_funnel: list[StepRow]
    top_sequences: list[SequenceRow]


class SequencesQuery:
    """Answers `sequences` from the lifecycle, reply and enrollment-state rollups."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> SequencesData:
        params = request.params(sequence_id=request.entity_id or "")
        known: Names | None  # gather's mixed-type overload loses the types
        count_rows, reply_rows, active_rows, known = await asyncio.gather(
            self.storage.query(statement("sequence_counts", params=params), params),
            self.storage.query(statement("sequence_replies", params=params), params),
            self.storage.query(statement("sequence_active", params=params), params),
            all_names(self.storage, request.tenant_id, "sequence"),
        )
        per_sequence: defaultdict[str, Counter[str]] = defaultdict(Counter)
        executed: Counter[int] = Counter()
        for grouping_set, sequence_id, step, event_type, n in count_rows:
            if grouping_set == _BY_SEQUENCE:
                per_sequence[sequence_id][event_type] += n
            elif grouping_set == _BY_STEP and event_type == "sequence_step_executed" and step:
                executed[step] += n
        replied_by_sequence: Counter[str] = Counter()
        replied_by_step: Counter[int] = Counter()
        replied = 0
        for grouping_set, sequence_id, step, enrollments in reply_rows:
            if grouping_set == _BY_SEQUENCE:
                replied_by_sequence[sequence_id] = enrollments
            elif grouping_set == _BY_STEP:
                replied_by_step[step] = enrollments
            elif grouping_set == _OVERALL:
                replied = enrollments
        enrolled = sum(c["sequence_enrollment_enrolled"] for c in per_sequence.values())
        summary = SequencesSummary(
            total_enrollments=enrolled,
            active_enrollments=active_rows[0][0] if active_rows else 0,
            completed_enrollments=sum(
                c["sequence_enrollment_completed"] for c in per_sequence.values()),
            replied_enrollments=replied,
            avg_reply_rate=percent(replied, enrolled),
        )
        steps = sorted(s for s in set(executed) | set(replied_by_step) if s > 0)
        funnel = [StepRow(step_number=s, executed=executed[s], replied=replied_by_step[s])
                  for s in steps]
        sequences = set(per_sequence) | set(replied_by_sequence)
        top = sorted(sequences, key=lambda q: (-per_sequence[q]["sequence_enrollment_enrolled"],
                                               q))[: request.limit]
        names = await latest_names(self.storage, request.tenant_id, "sequence", top, known)
        top_rows = []
        for q in top:
            n = per_sequence[q]["sequence_enrollment_enrolled"]
            top_rows.append(SequenceRow(sequence_id=q, name=names[q], enrollments=n,
                                        replied=replied_by_sequence[q],
                                        reply_rate=percent(replied_by_sequence[q], n)))
        return SequencesData(time_range=TimeRange.of(request.window), summary=summary,
                             step_funnel=funnel, top_sequences=top_rows)
