"""`GET /workflows`: run totals and rates, the top workflows by runs, and a time series."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import datetime

import msgspec

from chanalytics.query.buckets import local_buckets
from chanalytics.query.names import Names, all_names, latest_names
from chanalytics.query.rates import percent
from chanalytics.query.request import QueryRequest, TimeRange, epoch
from chanalytics.query.statements import statement
from chanalytics.storage import Storage


class WorkflowsSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    total_runs: int
    completed_runs: int
    failed_runs: int
    goal_reached_runs: int
    avg_completion_rate: float
    avg_conversion_rate: float


class WorkflowRow(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    workflow_id: str
    name: str | None
    runs: int
    completed_runs: int
    failed_runs: int
    goal_reached_runs: int
    completion_rate: float
    conversion_rate: float


class WorkflowPoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    timestamp: datetime  # a UTC bucket start: msgspec writes RFC 3339 with `Z`
    started: int
    completed: int
    failed: int
    goal_reached: int


class WorkflowsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    time_range: TimeRange
    summary: WorkflowsSummary
    top_workflows: list[WorkflowRow]
    time_series: list[WorkflowPoint]


def _outcome(event_type: str, status: str) -> str:
    """`started`, `completed`, `failed` or `goalReached` for one workflow run event."""
    match event_type:
        case "workflow_run_started":
            return "started"
        case "workflow_run_completed":
            return "failed" if status == "failed" else "completed"
        case _:
            return "goalReached"


class WorkflowsQuery:
    """Answers `workflows` from the workflow run rollups (plus raw edge slices)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run(self, request: QueryRequest) -> WorkflowsData:
        buckets = local_buckets(request.window, request.granularity)
        params = request.params(workflow_id=request.entity_id or "", **buckets.params())
        # Two statements, so they run at once (15-30% faster than one with UNION ALL).
        known: Names | None  # gather's mixed-type overload loses the types
        workflow_rows, bucket_rows, known = await asyncio.gather(
            self.storage.query(statement("workflow_counts", params=params), params),
            self.storage.query(statement("workflow_series", buckets, params), params),
            all_names(self.storage, request.tenant_id, "workflow"),
        )
        per_workflow: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for workflow_id, event_type, status, n in workflow_rows:
            per_workflow[workflow_id][_outcome(event_type, status)] += n
        per_bucket: defaultdict[int, Counter[str]] = defaultdict(Counter)
        for bucket, event_type, status, n in bucket_rows:
            per_bucket[bucket][_outcome(event_type, status)] += n
        total: Counter[str] = Counter()
        for counts in per_workflow.values():
            total.update(counts)
        summary = WorkflowsSummary(
            total_runs=total["started"], completed_runs=total["completed"],
            failed_runs=total["failed"], goal_reached_runs=total["goalReached"],
            avg_completion_rate=percent(total["completed"], total["started"]),
            avg_conversion_rate=percent(total["goalReached"], total["completed"]),
        )
        top = sorted(per_workflow, key=lambda w: (-per_workflow[w]["started"], w))[: request.limit]
        names = await latest_names(self.storage, request.tenant_id, "workflow", top, known)
        top_rows = []
        for w in top:
            c = per_workflow[w]
            top_rows.append(WorkflowRow(
                workflow_id=w, name=names[w], runs=c["started"], completed_runs=c["completed"],
                failed_runs=c["failed"], goal_reached_runs=c["goalReached"],
                completion_rate=percent(c["completed"], c["started"]),
                conversion_rate=percent(c["goalReached"], c["completed"])))
        series = []
        for s in buckets.starts:
            c = per_bucket[epoch(s)]
            series.append(WorkflowPoint(timestamp=s, started=c["started"],
                                        completed=c["completed"], failed=c["failed"],
                                        goal_reached=c["goalReached"]))
        return WorkflowsData(time_range=TimeRange.of(request.window), summary=summary,
                             top_workflows=top_rows, time_series=series)
