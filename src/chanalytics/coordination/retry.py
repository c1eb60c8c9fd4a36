"""Waiting between retries, shared by ingest (a store that failed) and the schedulers
(a webhook or an e-mail that was not accepted), so both back off the same way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Exponential back-off between retries, capped."""

    first: float = 0.05
    cap: float = 5.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay: float = min(self.cap, self.first * (2**self.attempt))
        self.attempt += 1
        return delay
