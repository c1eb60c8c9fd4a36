"""The tables that answer measures: the raw table and the rollups kept by views from it.

Every part of a statement emits the same *unified columns*, named as in the raw table
(`event_type`, `channel`, `campaign_id`, …) plus `bucket` (the 15-minute UTC bucket, or
a UTC midnight for daily rows) and the value columns of its family (`events`, `cost`,
`costed`, `duration_sum`, `samples`, `durations`; `kind` and `key` for distinct keys).
A table describes which of them it has, which events its rows hold, and how its own
columns give them. The planner picks, for each part of a window, the first table
that answers every measure of a statement (`planner.py`).

The rollups' DDL is in `clickhouse/schema/`; `clickhouse/README.md` lists what each holds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from chanalytics.query.measures import (
    LATENCY_KEY,
    LIFECYCLE_TYPES,
    MESSAGE_TYPES,
    SEQUENCE_TYPES,
    Family,
    Value,
)
from chanalytics.query.model import Filter


class Grain(enum.IntEnum):
    """How much time one row of a table covers, finest first."""

    RAW = 0
    QUARTER = 1  # a 15-minute UTC bucket
    DAY = 2  # a UTC day


ALL_TYPES = MESSAGE_TYPES | LIFECYCLE_TYPES | {"contact_created", "contact_updated"}
CAMPAIGN_MESSAGES = Filter("campaign", "isNot", (None,))

_RAW_VALUES = frozenset(Value) - {Value.KEY, Value.ACTIVE}
# Latency histograms are kept apart from the message rollups (which hold almost a group
# per event; a quantileDD state per group there cost 5x a sum at insert), in the
# delivery_latency_* rollups of delivered events by channel and provider only.
_COUNT_VALUES = _RAW_VALUES - {Value.DURATIONS, Value.LATEST, Value.EARLIEST}
_KEY_VALUES = frozenset({Value.KEY})
# The raw table's columns the catalogue's dimensions and conditions read.
_RAW_COLUMNS = frozenset({
    "tenant_id", "bucket", "event_type", "channel", "provider", "bounce_type", "error_code",
    "campaign_id", "template_id", "workflow_id", "sequence_id", "status", "step_number",
    "contact_id", "url", "geo_country", "geo_city", "user_agent", "machine_open"})
_DAY_BUCKET = MappingProxyType({"bucket": "toDateTime(day, 'UTC')"})


class Table(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    family: Family
    grain: Grain
    columns: frozenset[str]  # unified columns, besides the values
    values: frozenset[Value]
    # Per key kind (`''` for counted events), the event types its rows hold.
    event_types: Mapping[str, frozenset[str]]
    # Filters every row satisfies by construction (the view's WHERE).
    implied: tuple[Filter, ...] = ()
    # Unified column -> the expression giving it, where the table's column differs.
    expressions: Mapping[str, str] = MappingProxyType({})
    array_join: str = ""
    # A dimension the table answers for only when the query pins it to named values
    # (`is`, without "absent"): the raw table read through a projection ordered by it.
    pins: str = ""

    def select(self, column: str) -> str:
        """The SELECT item emitting one unified column."""
        expression = self.expressions.get(column, column)
        return column if expression == column else f"{expression} AS {column}"


def _rollup(name: str, family: Family, grain: Grain, columns: set[str],
            values: frozenset[Value], event_types: Mapping[str, frozenset[str]],
            implied: tuple[Filter, ...] = (), expressions: Mapping[str, str] | None = None,
            ) -> Table:
    daily = grain is Grain.DAY
    return Table(name=name, family=family, grain=grain,
                 columns=frozenset({*columns, "bucket", "tenant_id"}),
                 values=values, event_types=event_types, implied=implied,
                 expressions=MappingProxyType({**(_DAY_BUCKET if daily else {}),
                                               **(expressions or {})}))


def _latency(name: str, grain: Grain) -> Table:
    """Delivery-duration histograms of delivered events by channel and provider (their
    `samples` column is for the drift check: `message_counts_*` answer `samples`)."""
    return _rollup(name, Family.COUNTS, grain, {"event_type", "channel", "provider"},
                   frozenset({Value.DURATIONS}), _DELIVERED,
                   expressions={"event_type": "'message_delivered'"})


_MESSAGE_DIMENSIONS = {"event_type", "channel", "provider", "bounce_type", "error_code"}
_LIFECYCLE_DAILY = {"event_type", "campaign_id", "workflow_id", "sequence_id", "status",
                    "step_number"}
_KEY_COLUMNS = {"kind", "event_type", "channel", "campaign_id", "template_id", "sequence_id",
                "step_number", "machine_open"}
_KEY_KINDS = MappingProxyType({
    "message": frozenset({"message_opened", "message_clicked"}),
    "contact": frozenset({"message_sent", "message_opened", "message_clicked"}),
    "enrollment": frozenset({"sequence_enrollment_replied"}),
})
_MESSAGES = MappingProxyType({"": MESSAGE_TYPES})
_DELIVERED = MappingProxyType({"": frozenset({"message_delivered"})})
_LIFECYCLES = MappingProxyType({"": LIFECYCLE_TYPES})

RAW_COUNTS = Table(
    name="analytics_events", family=Family.COUNTS, grain=Grain.RAW, columns=_RAW_COLUMNS,
    values=_RAW_VALUES, event_types=MappingProxyType({"": ALL_TYPES}),
    expressions=MappingProxyType({
        "bucket": "toDateTime(toStartOfFifteenMinutes(occurred_at), 'UTC')",
        "events": "toUInt64(1)",
        "cost": "ifNull(analytics_events.cost, 0)",
        "costed": "toUInt64(analytics_events.cost IS NOT NULL)",
        "duration_sum": "ifNull(duration_ms, 0)",
        "samples": "toUInt64(duration_ms IS NOT NULL)",
        # Only campaigns' starts and completions ask for it: a short range of the sort key
        # (tenant_id, event_type, occurred_at), so no rollup keeps it.
        "latest": "occurred_at",
        "earliest": "occurred_at",
        "durations": "if(duration_ms IS NULL, CAST(map(), 'Map(Int16, UInt64)'), "
                     f"map({LATENCY_KEY}, toUInt64(1)))",
    }),
)

# The key rows of a raw event, as the views of distinct_keys_* make them (contacts only of
# message events).
RAW_KEYS = Table(
    name="analytics_events", family=Family.KEYS, grain=Grain.RAW,
    columns=_RAW_COLUMNS | {"kind"}, values=_KEY_VALUES,
    event_types=MappingProxyType({"message": MESSAGE_TYPES, "contact": MESSAGE_TYPES,
                                  "enrollment": SEQUENCE_TYPES}),
    expressions=MappingProxyType({
        "bucket": "toDateTime(toStartOfFifteenMinutes(occurred_at), 'UTC')",
        "kind": "pair.1",
        "key": "sipHash64(pair.2)",
    }),
    array_join=(
        "arrayConcat("
        "if(entity_type = 'message', [('message', entity_id)], []), "
        "if(entity_type = 'message' AND contact_id != '', [('contact', contact_id)], []), "
        "if(entity_type = 'sequence', [('enrollment', entity_id)], [])) AS pair"),
)

# The raw table, for a query that names its campaigns: ClickHouse reads it through its
# projection `by_campaign` (schema 0049), ordered by (tenant_id, campaign_id, occurred_at),
# so the read costs those campaigns' own events. Every rollup orders by tenant and time
# first and would read the tenant's whole window to find them (bench/results/campaign.md).
CAMPAIGN_COUNTS = msgspec.structs.replace(RAW_COUNTS, pins="campaign")
CAMPAIGN_KEYS = msgspec.structs.replace(RAW_KEYS, pins="campaign")

# Tried in this order: the first that can answer a part answers it, so the campaigns' own
# rows first, then the smaller tables (rows for the largest bench tenant's 30 days:
# campaign_message_counts_15m 0.4M, entity_message_counts_1d 1.2M: per-campaign and
# per-template days aggregate little when every campaign uses many templates).
TABLES: tuple[Table, ...] = (
    CAMPAIGN_COUNTS,
    CAMPAIGN_KEYS,
    _latency("delivery_latency_1d", Grain.DAY),
    _rollup("message_counts_1d", Family.COUNTS, Grain.DAY, _MESSAGE_DIMENSIONS,
            _COUNT_VALUES, _MESSAGES),
    _rollup("lifecycle_counts_1d", Family.COUNTS, Grain.DAY, _LIFECYCLE_DAILY,
            frozenset({Value.EVENTS}), _LIFECYCLES),
    _rollup("campaign_message_counts_15m", Family.COUNTS, Grain.QUARTER,
            {"event_type", "channel"}, frozenset({Value.EVENTS, Value.COST, Value.COSTED}),
            _MESSAGES, implied=(CAMPAIGN_MESSAGES,)),
    _rollup("entity_message_counts_1d", Family.COUNTS, Grain.DAY,
            {"event_type", "campaign_id", "template_id", "channel"},
            frozenset({Value.EVENTS, Value.COST, Value.COSTED}), _MESSAGES),
    _rollup("distinct_keys_1d", Family.KEYS, Grain.DAY, _KEY_COLUMNS, _KEY_VALUES, _KEY_KINDS),
    _latency("delivery_latency_15m", Grain.QUARTER),
    _rollup("message_counts_15m", Family.COUNTS, Grain.QUARTER, _MESSAGE_DIMENSIONS,
            _COUNT_VALUES, _MESSAGES),
    _rollup("lifecycle_counts_15m", Family.COUNTS, Grain.QUARTER, {"event_type", "status"},
            frozenset({Value.EVENTS}), _LIFECYCLES),
    _rollup("distinct_keys_15m", Family.KEYS, Grain.QUARTER, _KEY_COLUMNS, _KEY_VALUES,
            _KEY_KINDS),
    RAW_COUNTS,
    RAW_KEYS,
)

# Only the raw table: what the bench and tests compare every rollup answer with.
RAW_TABLES: tuple[Table, ...] = (RAW_COUNTS, RAW_KEYS)
