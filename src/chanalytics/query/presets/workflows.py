"""`GET /workflows`: run totals and rates, the top workflows by runs, and a time series."""

from __future__ import annotations

import asyncio
from datetime import datetime

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.metrics import metric_values
from chanalytics.query.model import Result
from chanalytics.query.names import Names
from chanalytics.query.request import QueryRequest, TimeRange


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


class WorkflowsData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                    omit_defaults=True):
    time_range: TimeRange
    summary: WorkflowsSummary
    top_workflows: list[WorkflowRow]
    time_series: list[WorkflowPoint]
    # With `compare`: the answer for the previous window, and the change of each
    # summary number (`query/compare.py`).
    comparison: WorkflowsData | None = None
    change: dict[str, float | None] | None = None


RUNS = ("runs_started", "runs_completed", "runs_failed", "runs_goal_reached")


async def workflows(engine: Engine, request: QueryRequest) -> WorkflowsData:
    """Runs started, completed, failed and reaching their goal, ranked by runs."""
    one = request.entity_filter("workflow")
    counts: Result  # gather's mixed-type overload loses the types
    known: Names | None
    (counts, series), known = await asyncio.gather(
        engine.run_all(request.query(RUNS, ("workflow",), (), filters=one),
                       request.query(RUNS, ("time",), filters=one)),
        engine.all_names(request.tenant_id, "workflow"),
    )
    per_workflow = counts.by_one("workflow")
    top = sorted(per_workflow, key=lambda w: (-per_workflow[w]["runs_started"], w))
    top = top[: request.limit]
    names = await engine.latest_names(request.tenant_id, "workflow", top, known)
    t = counts.total()
    return WorkflowsData(
        time_range=TimeRange.of(request.window),
        summary=WorkflowsSummary(
            total_runs=t["runs_started"], completed_runs=t["runs_completed"],
            failed_runs=t["runs_failed"], goal_reached_runs=t["runs_goal_reached"],
            **metric_values(t, avg_completion_rate="completionRate",
                            avg_conversion_rate="conversionRate")),
        top_workflows=[WorkflowRow(
            workflow_id=w, name=names[w], runs=c["runs_started"],
            completed_runs=c["runs_completed"], failed_runs=c["runs_failed"],
            goal_reached_runs=c["runs_goal_reached"],
            **metric_values(c, completion_rate="completionRate",
                            conversion_rate="conversionRate"))
            for w in top for c in (per_workflow[w],)],
        time_series=[WorkflowPoint(
            timestamp=start, started=v["runs_started"], completed=v["runs_completed"],
            failed=v["runs_failed"], goal_reached=v["runs_goal_reached"])
            for start, v in series.series()],
    )
