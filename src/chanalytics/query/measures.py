"""The measures: every number the engine adds up, each defined once.

A measure is an aggregate over the events of some types (and an optional extra
condition): a count of events, a sum of their cost or duration, their latency histogram, or
a count of distinct keys (messages, contacts, enrollments). The catalogue's tables
(`tables.py`) say which measures each can answer; metrics (`metrics.py`) and the
endpoints combine measures into rates and averages.

The SQL here is written over the *unified columns* every part of a statement emits
(`tables.py`): `event_type`, `events`, `cost`, `key`, `kind`, … whichever table they
come from.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from chanalytics.query.sql import all_of, literal, literals

MESSAGE_TYPES = frozenset({
    "message_sent", "message_delivered", "message_opened", "message_clicked",
    "message_bounced", "message_complained", "message_unsubscribed", "message_failed"})
CAMPAIGN_TYPES = frozenset({"campaign_started", "campaign_completed"})
WORKFLOW_TYPES = frozenset({
    "workflow_run_started", "workflow_run_completed", "workflow_run_goal_reached"})
SEQUENCE_TYPES = frozenset({
    "sequence_step_executed", "sequence_enrollment_enrolled", "sequence_enrollment_replied",
    "sequence_enrollment_completed", "sequence_enrollment_exited"})
LIFECYCLE_TYPES = CAMPAIGN_TYPES | WORKFLOW_TYPES | SEQUENCE_TYPES

# Latency as a log-bucket histogram (the mapping of DDSketch): a duration d > 0 counts in
# bucket k = ceil(log(d) / log(GAMMA)), and bucket k answers 2 * GAMMA^k / (GAMMA + 1),
# within 0.5% of every duration in it (inside the contract's 1%); 0 ms has bucket ZERO_KEY.
# Histograms are Map(Int16, UInt64) rows summed with sumMap: merging a tenant's 30 days of
# them took 4.6 ms where merging quantileDD states of the same events took 55 ms (reading
# the raw rows, 37 ms) on the 100M bench (bench/results/delivery.md). The views of
# delivery_latency_* compute the same key (clickhouse/schema/0030, 0032).
GAMMA = "1.0100502512562815"  # (1 + 0.005) / (1 - 0.005)
ZERO_KEY = -32768
LATENCY_KEY = (f"if(assumeNotNull(duration_ms) = 0, toInt16({ZERO_KEY}), "
               f"toInt16(ceil(log(assumeNotNull(duration_ms)) / log({GAMMA}))))")
LATENCY_PERCENTS = (50, 95, 99)  # p50, p95, p99


def _levels(histogram: str) -> str:
    """[p50, p95, p99] of a summed histogram, in SQL (`[]` without samples): percentile p
    of n samples is the bucket holding sample floor(p (n - 1)), counted exactly."""
    keys, counts = f"mapKeys({histogram})", f"mapValues({histogram})"
    n = f"arraySum({counts})"
    key = f"{keys}[arrayFirstIndex(c -> c > intDiv(p * ({n} - 1), 100), arrayCumSum({counts}))]"
    value = f"if({key} = {ZERO_KEY}, 0., 2 * pow({GAMMA}, {key}) / ({GAMMA} + 1))"
    percents = ", ".join(str(p) for p in LATENCY_PERCENTS)
    return f"if({n} = 0, CAST([], 'Array(Float64)'), arrayMap(p -> {value}, [{percents}]))"


class Family(enum.Enum):
    """What kind of rows answer a measure: counted events, distinct keys, or a state."""

    COUNTS = "counts"
    KEYS = "keys"
    STATES = "states"


class Value(enum.StrEnum):
    """The unified column a measure aggregates."""

    EVENTS = "events"
    COST = "cost"
    COSTED = "costed"
    DURATION_SUM = "duration_sum"
    SAMPLES = "samples"
    DURATIONS = "durations"
    KEY = "key"
    ACTIVE = "active"
    LATEST = "latest"  # the instant of the newest event (raw rows only)
    EARLIEST = "earliest"  # the instant of the oldest event (raw rows only)


class Measure(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    family: Family
    value: Value
    event_types: frozenset[str]
    kind: str = ""  # of a key: `message`, `contact` or `enrollment`
    condition: str = ""  # more SQL over unified columns, ANDed to the event types
    columns: frozenset[str] = frozenset()  # the unified columns `condition` reads

    @property
    def predicate(self) -> str:
        """The rows this measure aggregates."""
        return all_of([
            f"event_type IN {literals(self.event_types)}",
            f"kind = {literal(self.kind)}" if self.kind else "",
            self.condition,
        ])

    @property
    def aggregate(self) -> str:
        """The measure over a statement's rows (after UNION ALL of its parts)."""
        where = self.predicate
        match self.value:
            case Value.DURATIONS:
                return _levels(f"sumMapIf(durations, {where})")
            case Value.KEY:
                return f"uniqExactIf(key, {where})"
            case Value.ACTIVE:
                return "count()"
            case Value.LATEST:  # NULL where nothing matched
                return f"maxIfOrNull(latest, {where})"
            case Value.EARLIEST:
                return f"minIfOrNull(earliest, {where})"
            case _:
                return f"sumIf({self.value}, {where})"


def _count(name: str, *types: str, condition: str = "", columns: frozenset[str] = frozenset(),
           value: Value = Value.EVENTS) -> Measure:
    return Measure(name=name, family=Family.COUNTS, value=value, event_types=frozenset(types),
                   condition=condition, columns=columns)


def _keys(name: str, kind: str, *types: str, condition: str = "",
          columns: frozenset[str] = frozenset()) -> Measure:
    return Measure(name=name, family=Family.KEYS, value=Value.KEY, kind=kind,
                   event_types=frozenset(types), condition=condition, columns=columns)


_MEASURES = (
    # message events
    _count("sent", "message_sent"),
    _count("delivered", "message_delivered"),
    _count("failed", "message_failed"),
    _count("bounced", "message_bounced"),
    _count("hard_bounced", "message_bounced", condition="bounce_type = 'hard'",
           columns=frozenset({"bounce_type"})),
    _count("soft_bounced", "message_bounced", condition="bounce_type = 'soft'",
           columns=frozenset({"bounce_type"})),
    _count("complained", "message_complained"),
    _count("unsubscribed", "message_unsubscribed"),
    _count("open_events", "message_opened"),
    _count("click_events", "message_clicked"),
    _count("message_events", *MESSAGE_TYPES),
    _count("failed_or_bounced", "message_failed", "message_bounced"),
    # money and latency
    _count("cost", "message_sent", value=Value.COST),
    _count("costed", "message_sent", value=Value.COSTED),
    _count("duration_sum", "message_delivered", value=Value.DURATION_SUM),
    _count("samples", "message_delivered", value=Value.SAMPLES),
    _count("latency", "message_delivered", value=Value.DURATIONS),
    # lifecycles
    _count("campaigns_started", "campaign_started"),
    _count("campaigns_completed", "campaign_completed"),
    # the newest start and completion of a campaign: is it running now (`/realtime`)?
    _count("campaign_last_started", "campaign_started", value=Value.LATEST),
    _count("campaign_last_completed", "campaign_completed", value=Value.LATEST),
    # when a campaign first started, over all time (`/campaigns/{campaignId}`)
    _count("campaign_first_started", "campaign_started", value=Value.EARLIEST),
    _count("runs_started", "workflow_run_started"),
    _count("runs_completed", "workflow_run_completed", condition="status = 'completed'",
           columns=frozenset({"status"})),
    _count("runs_failed", "workflow_run_completed", condition="status = 'failed'",
           columns=frozenset({"status"})),
    _count("runs_goal_reached", "workflow_run_goal_reached"),
    _count("enrolled", "sequence_enrollment_enrolled"),
    _count("enrollments_completed", "sequence_enrollment_completed"),
    _count("steps_executed", "sequence_step_executed"),
    _count("sequence_events", *SEQUENCE_TYPES),
    # distinct keys: messages, contacts, enrollments
    _keys("opened", "message", "message_opened"),
    _keys("clicked", "message", "message_clicked"),
    _keys("human_opened", "message", "message_opened", condition="NOT machine_open",
          columns=frozenset({"machine_open"})),
    _keys("recipients", "contact", "message_sent"),
    _keys("openers", "contact", "message_opened"),
    _keys("clickers", "contact", "message_clicked"),
    _keys("contacts", "contact", *MESSAGE_TYPES),
    _keys("replied", "enrollment", "sequence_enrollment_replied"),
    # enrollments neither completed nor exited at the window's end (enrollment_states)
    Measure(name="active_enrollments", family=Family.STATES, value=Value.ACTIVE,
            event_types=frozenset()),
)

MEASURES: Mapping[str, Measure] = MappingProxyType({m.name: m for m in _MEASURES})
