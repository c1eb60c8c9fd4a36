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


def mean_percent(rates: Iterable[tuple[int, int]]) -> float:
    """The mean of the unrounded rates part / whole * 100 of (part, whole) pairs (0 for a
    zero whole), rounded at the end; 0.0 for none.

    Exact, over one common denominator: adding hundreds of Fractions one by one reduces
    every partial sum by a gcd (2.5 ms for the largest bench tenant's campaigns)."""
    pairs = list(rates)
    if not pairs:
        return 0.0
    common = math.lcm(*(whole for _, whole in pairs if whole))  # 1 when all are zero
    total = sum(part * (common // whole) for part, whole in pairs if whole)
    return rounded(Fraction(total * 100, common * len(pairs)))
