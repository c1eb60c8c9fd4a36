"""`GET /sequences`: enrollment totals, active enrollments, a step funnel and top sequences."""

from __future__ import annotations

import asyncio

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import CATALOGUE
from chanalytics.query.model import Result
from chanalytics.query.names import Names
from chanalytics.query.request import QueryRequest, TimeRange


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


class SequencesData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                    omit_defaults=True):
    time_range: TimeRange
    summary: SequencesSummary
    step_funnel: list[StepRow]
    top_sequences: list[SequenceRow]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: SequencesData | None = None
    change: dict[str, float | None] | None = None


PER_SEQUENCE = ("enrolled", "enrollments_completed", "sequence_events", "replied",
                "active_enrollments")
REPLY_RATE = CATALOGUE["replyRate"]


async def sequences(engine: Engine, request: QueryRequest) -> SequencesData:
    """Enrollments, active enrollments at the end of the range, replies per step."""
    one = request.entity_filter("sequence")
    counts: Result  # gather's mixed-type overload loses the types
    known: Names | None
    (counts, steps), known = await asyncio.gather(
        engine.run_all(request.query(PER_SEQUENCE, (), ("sequence",), filters=one),
                       request.query(("steps_executed", "replied"), ("step",), filters=one)),
        engine.all_names(request.tenant_id, "sequence"),
    )
    t = counts.total()
    # Sequences with an event in the range (every sequence with an active enrollment has
    # a row of its own, too).
    per_sequence = {q: v for q, v in counts.by_one("sequence").items() if v["sequence_events"]}
    top = sorted(per_sequence, key=lambda q: (-per_sequence[q]["enrolled"], q))[: request.limit]
    names = await engine.latest_names(request.tenant_id, "sequence", top, known)
    funnel = sorted((step, v) for step, v in steps.by_one("step").items()
                    if step is not None and (v["steps_executed"] or v["replied"]))
    return SequencesData(
        time_range=TimeRange.of(request.window),
        summary=SequencesSummary(
            total_enrollments=t["enrolled"], active_enrollments=t["active_enrollments"],
            completed_enrollments=t["enrollments_completed"], replied_enrollments=t["replied"],
            avg_reply_rate=REPLY_RATE.value(t)),
        step_funnel=[StepRow(step_number=step, executed=v["steps_executed"],
                             replied=v["replied"]) for step, v in funnel],
        top_sequences=[SequenceRow(
            sequence_id=q, name=names[q], enrollments=v["enrolled"], replied=v["replied"],
            reply_rate=REPLY_RATE.value(v))
            for q in top for v in (per_sequence[q],)],
    )
