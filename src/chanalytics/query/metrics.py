"""The catalogue of derived numbers: every metric, rate, score and projection an answer
holds, each a name over the measures, defined once.

A metric reads one or more measures (`measures.py`) of a result row and gives its value
as the contract states it: a count, a rate (percent, 2 decimals, 0.0 for a zero
denominator), a cost (exact decimal, rounded at the end), a latency (null without
samples) or a score. `METRICS` are the ones `POST /query` answers (`docs/reports.md`);
`CATALOGUE` holds those and the endpoints' own (`hardBounceRate`, `replyRate`, the
provider score, the budget's numbers …). Presets choose and shape: they ask the catalogue
for a value and never compute one, so the same question gets the same number everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from chanalytics.query.rates import mean_percent, percent, ratio

ColumnType = Literal["integer", "number", "string", "timestamp"]
Kind = Literal["count", "rate", "cost", "average", "latency", "score", "percent", "status"]
# How `compare` states a change: a rate's in percentage points, anything else's relative,
# in percent of the earlier value.
Change = Literal["points", "relative"]
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
    kind: Kind = "count"

    @property
    def change(self) -> Change:
        return "points" if self.kind == "rate" else "relative"

    def order_value(self, values: Values) -> Any:
        return values[self.measures[0]] if self.exact is None else self.exact(values)

    def order_sql(self, column: Column) -> str:
        return column(self.measures[0]) if self.order is None else self.order(column)


class RateMean(msgspec.Struct, frozen=True):
    """The mean of a rate over rows (campaigns), each row's rate unrounded, rounded at the
    end; rows whose denominator is 0 do not count, and no rows give 0.0."""

    name: str
    rate: Metric

    kind: Kind = "rate"

    @property
    def change(self) -> Change:
        return "points"

    def value(self, rows: Iterable[Values]) -> float:
        part, whole = self.rate.measures
        return mean_percent((v[part], v[whole]) for v in rows if v[whole])


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
                  lambda v: Fraction(v[part], v[whole]) if v[whole] else 0, "rate")


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


def _percentile(name: str, index: int) -> Metric:
    def value(v: Values) -> float | None:
        levels = v["latency"]
        return None if levels is None else round_decimal(Decimal(repr(levels[index])), 1)
    return Metric(name, ("latency",), value, "number", _level(index), _exact_level(index),
                  "latency")


def _score(v: Values) -> Fraction:
    """The seed's composite, from unrounded inputs: 0.4 delivery rate + 0.3 speed +
    0.2 price + 0.1 reliability (each 0-100; `docs/delivery.md`)."""
    speed = (max(Fraction(0), 100 - Fraction(v["duration_sum"], v["samples"]) / 1000)
             if v["samples"] else Fraction(0))
    price = (max(Fraction(0), 100 - Fraction(v["cost"]) / v["costed"] * 10000)
             if v["costed"] else Fraction(0))
    reliability = 100 - ratio(v["failed"], v["sent"])
    return (Fraction(4, 10) * ratio(v["delivered"], v["sent"]) + Fraction(3, 10) * speed
            + Fraction(2, 10) * price + Fraction(1, 10) * reliability)


# The budget's numbers read the month's spend (`cost`), the budget and the elapsed
# fraction of the month: inputs of `presets/costs.py`, not engine measures.
def _used(v: Values) -> Fraction:
    return Fraction(v["cost"]) * 100 / Fraction(v["monthly_budget"])


def _projected(v: Values) -> float:
    elapsed: Fraction = v["elapsed"]
    return round_decimal(Fraction(v["cost"]) / elapsed if elapsed else Fraction(0), 4)


def _status(v: Values) -> str:
    used = _used(v)
    return "exceeded" if used >= 100 else "90%" if used >= 90 else "75%" if used >= 75 else "ok"


_BUDGET = ("cost", "monthly_budget")
_RATES = {r.name: r for r in (
    _rate("deliveryRate", "delivered", "sent"),
    _rate("failureRate", "failed", "sent"),
    _rate("bounceRate", "bounced", "sent"),
    _rate("hardBounceRate", "hard_bounced", "sent"),
    _rate("complaintRate", "complained", "delivered"),
    _rate("unsubscribeRate", "unsubscribed", "delivered"),
    _rate("openRate", "opened", "delivered"),
    _rate("humanOpenRate", "human_opened", "delivered"),
    _rate("clickRate", "clicked", "delivered"),
    _rate("clickToOpenRate", "clicked", "opened"),
    _rate("replyRate", "replied", "enrolled"),
    _rate("completionRate", "runs_completed", "runs_started"),
    _rate("conversionRate", "runs_goal_reached", "runs_completed"),
)}

_CATALOGUE = (
    _count("sent"), _count("delivered"), _count("failed"), _count("bounced"),
    _count("hardBounced", "hard_bounced"), _count("softBounced", "soft_bounced"),
    _count("complained"), _count("unsubscribed"),
    _count("opened"), _count("clicked"), _count("humanOpened", "human_opened"),
    _count("uniqueContacts", "contacts"), _count("recipients"),
    *_RATES.values(),
    Metric("totalCost", ("cost",), lambda v: round_decimal(v["cost"], 4), "number",
           kind="cost"),
    _count("costedMessages", "costed"),
    Metric("avgCostPerMessage", ("cost", "costed"), _per("cost", "costed", 6), "number",
           _mean("cost", "costed"), _exact_mean("cost", "costed"), "cost"),
    _count("latencySamples", "samples"),
    Metric("avgDeliveryMs", ("duration_sum", "samples"), _per("duration_sum", "samples", 1),
           "number", _mean("duration_sum", "samples"), _exact_mean("duration_sum", "samples"),
           "average"),
    _percentile("p50DeliveryMs", 0), _percentile("p95DeliveryMs", 1),
    _percentile("p99DeliveryMs", 2),
    Metric("providerScore", ("sent", "delivered", "failed", "duration_sum", "samples", "cost",
                             "costed"), lambda v: round_decimal(_score(v), 2), "number",
           exact=_score, kind="score"),
    _count("workflowRuns", "runs_started"),
    _count("workflowCompleted", "runs_completed"),
    _count("workflowFailed", "runs_failed"),
    _count("workflowGoals", "runs_goal_reached"),
    _count("enrollments", "enrolled"),
    _count("repliedEnrollments", "replied"),
    _count("completedEnrollments", "enrollments_completed"),
    _count("activeEnrollments", "active_enrollments"),
    _count("stepsExecuted", "steps_executed"),
    # Read from the suppressions (`suppressions.py`), not from a measure.
    _count("suppressedContacts", "suppressed_contacts"),
    Metric("percentUsed", _BUDGET, lambda v: round_decimal(_used(v), 2), "number",
           exact=_used, kind="percent"),
    Metric("projectedSpend", (*_BUDGET, "elapsed"), _projected, "number", kind="cost"),
    Metric("budgetStatus", _BUDGET, _status, "string", exact=_used, kind="status"),
)

CATALOGUE: Mapping[str, Metric] = MappingProxyType({m.name: m for m in _CATALOGUE})
"""Every derived number of a result row, by name."""

MEANS: Mapping[str, RateMean] = MappingProxyType({m.name: m for m in (
    RateMean("avgOpenRate", _RATES["openRate"]),
    RateMean("avgClickRate", _RATES["clickRate"]),
)})
"""Means of a rate over rows (a campaign summary's), by name."""

# What `POST /query` answers, in the order of `docs/reports.md`.
REPORTED = (
    "sent", "delivered", "failed", "bounced", "hardBounced", "complained", "unsubscribed",
    "opened", "clicked", "humanOpened", "uniqueContacts", "deliveryRate", "failureRate",
    "bounceRate", "complaintRate", "unsubscribeRate", "openRate", "humanOpenRate",
    "clickRate", "clickToOpenRate", "totalCost", "avgCostPerMessage", "avgDeliveryMs",
    "p50DeliveryMs", "p95DeliveryMs", "p99DeliveryMs", "workflowRuns", "workflowCompleted",
    "workflowFailed", "workflowGoals", "enrollments", "repliedEnrollments",
)
METRICS: Mapping[str, Metric] = MappingProxyType({n: CATALOGUE[n] for n in REPORTED})

# An endpoint's field where its name is not the catalogue's (`docs/api.md`,
# `docs/delivery.md`); every other field is named as its entry. The one place these
# names meet, so `compare` and the tests resolve a field the same way.
FIELDS: Mapping[str, str] = MappingProxyType({
    "totalMessagesSent": "sent", "totalDelivered": "delivered",
    "totalOpened": "opened", "totalClicked": "clicked",
    "totalRecipients": "recipients", "usageCount": "sent", "messages": "sent",
    "totalRuns": "workflowRuns", "runs": "workflowRuns",
    "completedRuns": "workflowCompleted", "failedRuns": "workflowFailed",
    "goalReachedRuns": "workflowGoals",
    "avgCompletionRate": "completionRate", "avgConversionRate": "conversionRate",
    "totalEnrollments": "enrollments", "replied": "repliedEnrollments",
    "avgReplyRate": "replyRate", "executed": "stepsExecuted",
    "samples": "latencySamples", "avgMs": "avgDeliveryMs", "p50Ms": "p50DeliveryMs",
    "p95Ms": "p95DeliveryMs", "p99Ms": "p99DeliveryMs",
    "total": "totalCost", "spent": "totalCost", "score": "providerScore",
})


def entry(field: str) -> Metric | RateMean | None:
    """The catalogue entry an answer's field (or a report's metric) holds, if any."""
    name = FIELDS.get(field, field)
    return CATALOGUE.get(name) or MEANS.get(name)


def metric_values(row: Values, **fields: str) -> dict[str, Any]:
    """`{field: value}` of the catalogue's metric named for each field, over one row."""
    return {field: CATALOGUE[name].value(row) for field, name in fields.items()}
