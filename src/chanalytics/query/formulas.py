"""The parts metrics are made of: the `Metric` type and its formulas — a count, a rate,
a mean, a percentile, the provider score, the budget's numbers — each as the contract
states it (`docs/reports.md`, `docs/delivery.md`). The catalogue itself, the named
entries, is `metrics.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
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

    @property
    def denominator(self) -> str | None:
        """The measure a rate is a share of (`sent` for `deliveryRate`): an alert rule does
        not judge a rate over too few of it. None for anything but a rate."""
        return self.measures[1] if self.kind == "rate" else None

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


def count(name: str, measure: str | None = None) -> Metric:
    """A measure as it is (`name` itself by default)."""
    measure = measure or name
    return Metric(name, (measure,), lambda v: v[measure])


def rate(name: str, part: str, whole: str) -> Metric:
    """part / whole x 100, 2 decimals, 0.0 for a zero whole; changes in points."""
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


def average(name: str, part: str, whole: str, places: int, kind: Kind) -> Metric:
    """part / whole rounded to `places` decimals; null for a zero whole."""
    def value(v: Values) -> float | None:
        if not v[whole]:
            return None
        return round_decimal(Fraction(Decimal(v[part])) / v[whole], places)
    return Metric(name, (part, whole), value, "number", _mean(part, whole),
                  _exact_mean(part, whole), kind)


def percentile(name: str, index: int) -> Metric:
    """The latency sketch's level `index` (p50, p95, p99), 1 decimal; null without samples."""
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


def provider_score(name: str) -> Metric:
    """`_score` rounded to 2 decimals; ranked by the exact one."""
    return Metric(name, ("sent", "delivered", "failed", "duration_sum", "samples", "cost",
                         "costed"), lambda v: round_decimal(_score(v), 2), "number",
                  exact=_score, kind="score")


# The budget's numbers read the month's spend (`cost`), the budget (`monthly_budget`) and
# the elapsed fraction of the month (`elapsed`): inputs of `presets/costs.py`, not
# engine measures.
BUDGET = ("cost", "monthly_budget")


def _used(v: Values) -> Fraction:
    return Fraction(v["cost"]) * 100 / Fraction(v["monthly_budget"])


def _projected(v: Values) -> float:
    elapsed: Fraction = v["elapsed"]
    return round_decimal(Fraction(v["cost"]) / elapsed if elapsed else Fraction(0), 4)


def _status(v: Values) -> str:
    share = _used(v)
    return "exceeded" if share >= 100 else "90%" if share >= 90 else "75%" if share >= 75 else "ok"


def budget_used(name: str) -> Metric:
    """spent / budget x 100, 2 decimals."""
    return Metric(name, BUDGET, lambda v: round_decimal(_used(v), 2), "number", exact=_used,
                  kind="percent")


def budget_projection(name: str) -> Metric:
    """spent ÷ the elapsed fraction of the month, 4 decimals (0 at the month's start)."""
    return Metric(name, (*BUDGET, "elapsed"), _projected, "number", kind="cost")


def budget_status(name: str) -> Metric:
    """ok, 75%, 90% or exceeded, by the exact share of the budget spent."""
    return Metric(name, BUDGET, _status, "string", exact=_used, kind="status")


def cost_total(name: str) -> Metric:
    """The exact sum of costs, 4 decimals."""
    return Metric(name, ("cost",), lambda v: round_decimal(v["cost"], 4), "number", kind="cost")


def age_seconds(name: str, measure: str) -> Metric:
    """An age in seconds (an input, not an engine measure), 1 decimal; null when unknown."""
    def value(v: Values) -> float | None:
        seconds = v[measure]
        return None if seconds is None else round_decimal(Decimal(repr(float(seconds))), 1)
    return Metric(name, (measure,), value, "number", kind="latency")


def millis_as_seconds(name: str, measure: str) -> Metric:
    """A duration counted in whole milliseconds, in seconds (3 decimals: exact); null
    when there is none."""
    def value(v: Values) -> float | None:
        millis = v[measure]
        return None if millis is None else round_decimal(Fraction(int(millis), 1000), 3)
    return Metric(name, (measure,), value, "number", kind="latency")
