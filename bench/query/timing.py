"""Repeated timings and their percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return pct(self.samples, 50) if self.samples else 0.0

    @property
    def p95(self) -> float:
        return pct(self.samples, 95) if self.samples else 0.0


async def timed(fn: Callable[[], Awaitable[Any]], reps: int, warmups: int = 3) -> Timing:
    """Warm-ups, then `reps` timed calls, in milliseconds."""
    for _ in range(warmups):
        await fn()
    timing = Timing()
    for _ in range(reps):
        t0 = time.perf_counter()
        await fn()
        timing.samples.append((time.perf_counter() - t0) * 1000)
    return timing
