"""Funnels (`docs/api.md#funnel`): `GET /funnel`, messages from sent to delivered, opened
and clicked, and `GET /funnel/workflows`, runs from started to completed and goal.

A funnel follows each message (or run) from its first step: the messages whose
`message_sent` lies in the window (the filters choose among those sends), and for each
later step the first event of its type at or after the send, if that lies at most
`windowHours` after it. A step counts the messages that reached it *and* every step
before it within the window; its median is the lower median of their times from the send
to the step's first event. So a funnel is a question about each message's own events,
which no grouped count of the catalogue answers; it has one statement of its own, read
through `Engine.read` like the read models:

    per message (GROUP BY the message id, over the raw table): the send's instant and
    channel, and the instants of each later step's events, from the window's start to
    `windowHours` past its end (a step may follow a send of the window's last minute);
    per message: each step's first offset from the send in [0, windowHours], or -1;
    per channel and in total (GROUPING SETS): messages per step, lower medians.

No read model, measured (`bench/results/funnel.md`): the raw table's key `(tenant_id,
event_type, occurred_at, …)` makes each event type one range read, and a 30-day funnel of
the 10M bench's largest tenant (150,000 events in the window) costs about 0.2 s of CPU.
That grows with the tenant's events: about 2 s at the issue's 100M, over its 1 s target.
A model that would meet it keeps every step instant per message (a minimum alone is not
exact where a step precedes its send); the results file describes it.

The counts, rates and medians are the catalogue's (`metrics.py`: `stepConversionRate`,
`stepOverallRate`, `medianSeconds`); the first step's conversion and overall rates are
100 (0 without messages).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import msgspec

from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.metrics import metric_values
from chanalytics.query.request import QueryRequest, TimeRange
from chanalytics.query.sql import INSTANT, Params, Select, all_of, any_of, literal, literals

DEFAULT_WINDOW_HOURS, MAX_WINDOW_HOURS = 72, 720
_HOUR_MS = 3_600_000
_DIGITS = re.compile(r"\d{1,4}", re.ASCII)
# grouping() bits as the SQL standard has them (1 = aggregated away), whatever the profile.
_STANDARD_GROUPING = "force_grouping_standard_compatibility = 1"


@dataclass(frozen=True)
class Step:
    name: str
    event_type: str
    status: str | None = None  # the `status` the event must have, if any

    def condition(self) -> str:
        return all_of([f"event_type = {literal(self.event_type)}",
                       "" if self.status is None else f"status = {literal(self.status)}"])


@dataclass(frozen=True)
class Shape:
    """A funnel's steps, first to last, and whether it is also answered per channel."""

    steps: tuple[Step, ...]
    per_channel: bool


MESSAGES = Shape((Step("sent", "message_sent"), Step("delivered", "message_delivered"),
                  Step("opened", "message_opened"), Step("clicked", "message_clicked")),
                 per_channel=True)
RUNS = Shape((Step("started", "workflow_run_started"),
              Step("completed", "workflow_run_completed", "completed"),
              Step("goal", "workflow_run_goal_reached")), per_channel=False)


class FunnelOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What a funnel asks beyond the window and the channel: the send filters and the
    window of the later steps."""

    window_hours: int = DEFAULT_WINDOW_HOURS
    campaign_id: str | None = None
    template_id: str | None = None
    workflow_id: str | None = None


class FunnelStep(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    step: str
    messages: int
    conversion_rate: float
    overall_rate: float
    median_seconds: float | None


class ChannelFunnel(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    steps: list[FunnelStep]


class FunnelData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                 omit_defaults=True):
    time_range: TimeRange
    steps: list[FunnelStep]
    by_channel: list[ChannelFunnel]
    # With `compare`: the previous window's answer (no summary, so `change` is empty).
    comparison: FunnelData | None = None
    change: dict[str, float | None] | None = None


class WorkflowFunnelData(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                         omit_defaults=True):
    time_range: TimeRange
    steps: list[FunnelStep]
    comparison: WorkflowFunnelData | None = None
    change: dict[str, float | None] | None = None


Data = TypeVar("Data", FunnelData, WorkflowFunnelData)


def parse_window_hours(value: str | None) -> int:
    """How long after its send a message may reach a step: 1 to 720 hours, default 72."""
    if value is None:
        return DEFAULT_WINDOW_HOURS
    if _DIGITS.fullmatch(value) and 1 <= int(value) <= MAX_WINDOW_HOURS:
        return int(value)
    raise BadParameter("invalid_window_hours",
                       f"windowHours must be an integer from 1 to {MAX_WINDOW_HOURS}",
                       "windowHours")


def funnel_statement(shape: Shape, request: QueryRequest, options: FunnelOptions,
                     ) -> tuple[str, dict[str, Any]]:
    """The statement of one funnel: rows of [grouping bit, channel,] first-step messages,
    then per later step its messages and their lower median in milliseconds."""
    params = Params()
    window = request.window
    first, later = shape.steps[0], shape.steps[1:]
    is_first = first.condition()
    chosen = [f"{column} = {params.bind(value, 'String')}" for column, value in (
        ("channel", request.channel), ("campaign_id", options.campaign_id),
        ("template_id", options.template_id), ("workflow_id", options.workflow_id))
        if value is not None]
    reach = timedelta(hours=options.window_hours)
    events = Select(
        columns=[*([f"argMinIf(channel, occurred_at, {is_first}) AS ch"] if shape.per_channel
                   else []),
                 f"countIf({is_first}) > 0 AS is_first_seen",
                 f"toUnixTimestamp64Milli(minIf(occurred_at, {is_first})) AS first_ms",
                 *(f"groupArrayIf(toUnixTimestamp64Milli(occurred_at), {s.condition()}) AS at{i}"
                   for i, s in enumerate(later, 1))],
        source="analytics_events",
        where=["tenant_id = " + params.bind(request.tenant_id, "String"),
               f"event_type IN {literals(s.event_type for s in shape.steps)}",
               f"occurred_at >= {params.bind(window.start, INSTANT)}",
               f"occurred_at < {params.bind(window.end + reach, INSTANT)}",
               # A first step counts in the window and with the filters; later ones of
               # the same message, whatever they say, up to `windowHours` past the end.
               any_of([f"event_type != {literal(first.event_type)}",
                       all_of([f"occurred_at < {params.bind(window.end, INSTANT)}",
                               *chosen])])],
        group_by="entity_id", having="is_first_seen")
    limit = params.bind(options.window_hours * _HOUR_MS, "Int64")
    later_steps = range(1, len(shape.steps))
    offsets = Select(
        columns=[*(["ch"] if shape.per_channel else []),
                 *(f"arrayFilter(x -> x BETWEEN 0 AND {limit}, "
                   f"arrayMap(t -> t - first_ms, at{i})) AS in{i}" for i in later_steps),
                 *(f"if(empty(in{i}), -1, arrayMin(in{i})) AS s{i}" for i in later_steps)],
        source=f"({events.sql()})")
    reached = [all_of(f"s{j} >= 0" for j in range(1, i + 1)) for i in later_steps]
    columns = ["count()", *(part for i, r in enumerate(reached, 1)
                            for part in (f"countIf({r})", f"quantileExactLowIf(0.5)(s{i}, {r})"))]
    if shape.per_channel:
        funnel = Select(columns=["grouping(ch)", "ch", *columns], source=f"({offsets.sql()})",
                        group_by="GROUPING SETS ((ch), ())", settings=[_STANDARD_GROUPING])
    else:
        funnel = Select(columns=columns, source=f"({offsets.sql()})")
    return funnel.sql(), params.values


def _steps(shape: Shape, row: Sequence[Any] | None) -> list[FunnelStep]:
    """A funnel's steps from one row of `funnel_statement` (None: no messages)."""
    n = len(shape.steps)
    counts = [0] * n if row is None else [int(row[0]), *(int(row[2 * i - 1]) for i in range(1, n))]
    medians = [None] + [None if row is None or not counts[i] else int(row[2 * i])
                        for i in range(1, n)]
    return [FunnelStep(step=step.name, messages=counts[i], **metric_values(
        {"step": counts[i], "previous_step": counts[max(i - 1, 0)], "first_step": counts[0],
         "median_ms": medians[i]},
        conversion_rate="stepConversionRate", overall_rate="stepOverallRate",
        median_seconds="medianSeconds")) for i, step in enumerate(shape.steps)]


async def message_funnel(engine: Engine, request: QueryRequest, options: FunnelOptions,
                         ) -> FunnelData:
    """Messages sent in the window, and how many reached each later step in time; in
    total and per channel (channels by messages sent, most first, then by name)."""
    sql, values = funnel_statement(MESSAGES, request, options)
    rows = await engine.read(request.tenant_id, sql, values)
    total = next((row[2:] for row in rows if row[0]), None)
    channels = sorted(((row[1], row[2:]) for row in rows if not row[0]),
                      key=lambda found: (-int(found[1][0]), found[0]))
    return FunnelData(time_range=TimeRange.of(request.window), steps=_steps(MESSAGES, total),
                      by_channel=[ChannelFunnel(channel=ch, steps=_steps(MESSAGES, row))
                                  for ch, row in channels])


async def workflow_funnel(engine: Engine, request: QueryRequest, options: FunnelOptions,
                          ) -> WorkflowFunnelData:
    """Runs started in the window, and how many completed and reached their goal in time."""
    sql, values = funnel_statement(RUNS, request, options)
    rows = await engine.read(request.tenant_id, sql, values)
    total = rows[0] if rows and int(rows[0][0]) else None
    return WorkflowFunnelData(time_range=TimeRange.of(request.window),
                              steps=_steps(RUNS, total))


def preset(service: Callable[[Engine, QueryRequest, FunnelOptions], Awaitable[Data]],
           options: FunnelOptions) -> Callable[[Engine, QueryRequest], Awaitable[Data]]:
    """A funnel as `answer` runs a preset (twice, with `compare`)."""
    async def run(engine: Engine, request: QueryRequest) -> Data:
        return await service(engine, request, options)
    return run
