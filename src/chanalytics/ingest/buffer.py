"""The batch being filled: flush on size or on age, with an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chanalytics.mappers.rows import AnalyticsRow

Clock = Callable[[], float]


@dataclass
class Batch:
    """Rows waiting to be stored and the messages to acknowledge once they are."""

    clock: Clock = time.monotonic
    rows: list[AnalyticsRow] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    started: float | None = None
    signalled: float | None = None  # when JetStream was last told these are in progress

    def add(self, row: AnalyticsRow, message: Any, arrived: float | None = None) -> None:
        """Keep a row and the message to acknowledge once it is stored; the batch's age
        counts from when its first message `arrived` (default: now)."""
        if self.started is None:
            self.started = self.clock() if arrived is None else min(arrived, self.clock())
        self.rows.append(row)
        self.messages.append(message)

    def __len__(self) -> int:
        return len(self.messages)

    def age(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def unsignalled_for(self) -> float:
        """Seconds since the oldest message was fetched or last reported in progress."""
        since = self.signalled if self.signalled is not None else self.started
        return 0.0 if since is None else self.clock() - since


@dataclass(frozen=True)
class FlushPolicy:
    """Flush when `max_size` messages are held or the oldest has waited `max_age` seconds."""

    max_size: int
    max_age: float

    def due(self, batch: Batch) -> bool:
        return len(batch) >= self.max_size or (len(batch) > 0 and batch.age() >= self.max_age)

    def wait_budget(self, batch: Batch) -> float:
        """How long a fetch may block before the batch must be flushed."""
        if not len(batch):
            return self.max_age
        return max(0.0, self.max_age - batch.age())
