"""How far ingest is behind: the age of the oldest published message not yet stored.

Read from the durable consumer (ingest acknowledges only what it stored): its pending
counts, and the publication time of the first message after its ack floor. Shared by the
ingest's gauges (`ingest/jobs.py`, every few seconds) and `GET /realtime`'s freshness,
which asks it fresh on each request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConsumerLag:
    pending: int  # published, not yet delivered to ingest
    ack_pending: int  # delivered, not yet stored
    seconds: float | None  # age of the oldest unstored message; 0 when caught up


async def consumer_lag(js: Any, stream: str, consumer: str, now: float) -> ConsumerLag | None:
    """The consumer's counts and lag as of `now` (epoch seconds), or None when NATS does
    not answer. Two small requests; `seconds` is None when the oldest message cannot be
    read (e.g. an account not allowed to read messages directly)."""
    try:
        info = await js.consumer_info(stream, consumer)
    except Exception as exc:  # best-effort: a NATS outage is logged elsewhere
        log.debug("ingest.consumer_info.failed", error=repr(exc))
        return None
    pending, ack_pending = info.num_pending or 0, info.num_ack_pending or 0
    if not pending and not ack_pending:
        return ConsumerLag(pending, ack_pending, 0.0)
    floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
    try:
        # `next`: the first message at or after floor + 1 (one may have been deleted).
        oldest = await js.get_msg(stream, seq=floor + 1, subject=">", next=True)
    except Exception as exc:
        log.debug("ingest.lag.failed", error=repr(exc))
        return ConsumerLag(pending, ack_pending, None)
    if oldest.time is None:
        return ConsumerLag(pending, ack_pending, None)
    return ConsumerLag(pending, ack_pending, max(0.0, now - oldest.time.timestamp()))


def lag_reader(js: Any, stream: str, consumer: str,
               clock: Callable[[], float] = time.time) -> Callable[[], Awaitable[float | None]]:
    """A fresh reading of the lag in seconds on each call (None when NATS cannot tell)."""
    async def read() -> float | None:
        lag = await consumer_lag(js, stream, consumer, clock())
        return None if lag is None else lag.seconds
    return read
