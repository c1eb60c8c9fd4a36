"""The report metrics of `docs/reports.md`: each a name over the measures, defined once.

A metric reads one or more measures (`measures.py`) of a result row and gives its value
as the contract states it: a count, a rate (percent, 2 decimals, 0.0 for a zero
denominator), a cost (exact decimal, rounded at the end) or a latency (null without
samples). The endpoints' own rate fields use the same `rates.percent`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from chanalytics.query.rates import percent

ColumnType = Literal["integer", "number", "string", "timestamp"]
Values = Mapping[str, Any]


Column = Callable[[str], str]  # a measure's column in the statement a report sorts


class Metric(msgspec.Struct, frozen=True):
    name: str
    measures: tuple[str, ...]
    value: Callable[[Values], Any]
    type: ColumnType = "integer"
    # What a report orders by: the exact (unrounded) value, as SQL over the measures'
    # columns; nulls sort last. None: the one measure itself.
    order: Callable[[Column], str] | None = None
    # The same in Python, over a row's measures (for results sorted here).
    exact: Callable[[Values], Any] | None = None

    def order_value(self, values: Values) -> Any:
        return values[self.measures[0]] if self.exact is None else self.exact(values)

    def order_sql(self, column: Column) -> str:
        return column(self.measures[0]) if self.order is None else self.order(column)


def round_decimal(value: Decimal | Fraction, places: int) -> float:
    """`value` rounded half up to `places` decimals, as a JSON number."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(
        value, Fraction) else value
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _count(name: str, measure: str | None = None) -> Metric:
    measure = measure or name
    return Metric(name, (measure,), lambda v: v[measure])


def _rate(name: str, part: str, whole: str) -> Metric:
    return Metric(name, (part, whole), lambda v: percent(v[part], v[whole]), "number",
                  lambda c: f"if({c(whole)} = 0, 0, {c(part)} / {c(whole)})",
                  lambda v: Fraction(v[part], v[whole]) if v[whole] else 0)


def _exact_mean(part: str, whole: str) -> Callable[[Values], Any]:
    return lambda v: Fraction(Decimal(v[part])) / v[whole] if v[whole] else None


def _exact_level(index: int) -> Callable[[Values], Any]:
    return lambda v: None if v["latency"] is None else v["latency"][index]


def _mean(part: str, whole: str) -> Callable[[Column], str]:
    return lambda c: f"if({c(whole)} = 0, NULL, {c(part)} / {c(whole)})"


def _level(index: int) -> Callable[[Column], str]:
    return lambda c: (f"if(empty({c('latency')}) OR isNaN({c('latency')}[1]), NULL, "
                      f"{c('latency')}[{index + 1}])")


def _per(part: str, whole: str, places: int) -> Callable[[Values], float | None]:
    def value(v: Values) -> float | None:
        if not v[whole]:
            return None
        return round_decimal(Fraction(Decimal(v[part])) / v[whole], places)
    return value


def _percentile(index: int) -> Callable[[Values], float | None]:
    def value(v: Values) -> float | None:
        levels = v["latency"]
        return None if levels is None else round_decimal(Decimal(repr(levels[index])), 1)
    return value


_METRICS = (
    _count("sent"), _count("delivered"), _count("failed"), _count("bounced"),
    _count("hardBounced", "hard_bounced"), _count("complained"), _count("unsubscribed"),
    _count("opened"), _count("clicked"), _count("humanOpened", "human_opened"),
    _count("uniqueContacts", "contacts"),
    _rate("deliveryRate", "delivered", "sent"),
    _rate("failureRate", "failed", "sent"),
    _rate("bounceRate", "bounced", "sent"),
    _rate("complaintRate", "complained", "delivered"),
    _rate("unsubscribeRate", "unsubscribed", "delivered"),
    _rate("openRate", "opened", "delivered"),
    _rate("humanOpenRate", "human_opened", "delivered"),
    _rate("clickRate", "clicked", "delivered"),
    _rate("clickToOpenRate", "clicked", "opened"),
    Metric("totalCost", ("cost",), lambda v: round_decimal(v["cost"], 4), "number"),
    Metric("avgCostPerMessage", ("cost", "costed"), _per("cost", "costed", 6), "number",
           _mean("cost", "costed"), _exact_mean("cost", "costed")),
    Metric("avgDeliveryMs", ("duration_sum", "samples"), _per("duration_sum", "samples", 1),
           "number", _mean("duration_sum", "samples"), _exact_mean("duration_sum", "samples")),
    Metric("p50DeliveryMs", ("latency",), _percentile(0), "number", _level(0),
           _exact_level(0)),
    Metric("p95DeliveryMs", ("latency",), _percentile(1), "number", _level(1),
           _exact_level(1)),
    Metric("p99DeliveryMs", ("latency",), _percentile(2), "number", _level(2),
           _exact_level(2)),
    _count("workflowRuns", "runs_started"),
    _count("workflowCompleted", "runs_completed"),
    _count("workflowFailed", "runs_failed"),
    _count("workflowGoals", "runs_goal_reached"),
    _count("enrollments", "enrolled"),
    _count("repliedEnrollments", "replied"),
)

METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in _METRICS})
