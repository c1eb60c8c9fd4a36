"""Percentages as the contract states them: exact, then rounded half up to 2 decimals."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction


def ratio(part: int, whole: int) -> Fraction:
    """part / whole * 100, exact; 0 for a zero denominator."""
    return Fraction(part * 100, whole) if whole else Fraction(0)


def rounded(value: Fraction) -> float:
    """`value` rounded half up to 2 decimals."""
    return math.floor(value * 100 + Fraction(1, 2)) / 100


def percent(part: int, whole: int) -> float:
    """part / whole * 100 rounded to 2 decimals; 0.0 for a zero denominator."""
    return rounded(ratio(part, whole))


def mean_percent(rates: Iterable[Fraction]) -> float:
    """The mean of unrounded rates, rounded at the end; 0.0 for none."""
    values = list(rates)
    return rounded(sum(values, Fraction(0)) / len(values)) if values else 0.0
