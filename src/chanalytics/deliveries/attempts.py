"""Tries of one delivery, retried with back-off, each recorded for the caller to store.

A delivery is tried up to `RetryPolicy.tries` times; between tries it waits as
`chanalytics.coordination.retry.Backoff` says (by default 10, 20, 40 s: four tries over 70 s, the
contract's "at least 3 tries over at least 1 minute"). `sleep` is injected so tests run
the whole schedule in milliseconds. A try ends as delivered, as failed (tried again) or
as refused (never tried again: a target the safety rule refuses does not become safe by
waiting, and a malformed message does not become well-formed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog

from chanalytics.coordination.retry import Backoff
from chanalytics.deliveries.targets import Channel

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
TryResult = Literal["delivered", "failed", "refused"]
MAX_ERROR = 300  # an error text is stored per try; never a receiver's whole answer


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often and how patiently a delivery is tried."""

    tries: int = 4
    first_delay: float = 10.0
    max_delay: float = 300.0
    timeout: float = 10.0  # one try, every redirect hop included

    def backoff(self) -> Backoff:
        return Backoff(first=self.first_delay, cap=self.max_delay)


class DeliveryTry(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one try: an HTTP status or an SMTP reply code when there was an
    answer, an error text when there was none (or when the answer was refused)."""

    number: int
    started_at: datetime
    result: TryResult
    duration_ms: float
    status: int | None = None
    error: str | None = None
    address: str | None = None  # the IP connected to (webhooks), for the record


class DeliveryOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """Every try of one delivery, in order."""

    channel: Channel
    delivery_id: str
    tries: list[DeliveryTry]

    @property
    def delivered(self) -> bool:
        return bool(self.tries) and self.tries[-1].result == "delivered"

    @property
    def last_error(self) -> str | None:
        return next((t.error for t in reversed(self.tries) if t.error), None)


class TryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What one try's sender reports: how it ended, and its status/error/address."""

    result: TryResult
    status: int | None = None
    error: str | None = None
    address: str | None = None


async def deliver_with_retries(
    channel: Channel, delivery_id: str, attempt: Callable[[], Awaitable[TryAnswer]],
    policy: RetryPolicy, sleep: Sleep = asyncio.sleep, target: str = "",
) -> DeliveryOutcome:
    """Run `attempt` until it delivers, is refused, or `policy.tries` are spent."""
    backoff = policy.backoff()
    tries: list[DeliveryTry] = []
    for number in range(1, policy.tries + 1):
        started_at, t0 = datetime.now(UTC), time.perf_counter()
        try:
            async with asyncio.timeout(policy.timeout):
                answer = await attempt()
        except TimeoutError:
            answer = TryAnswer(result="failed", error=f"no answer within {policy.timeout:g} s")
        except Exception as exc:  # a fault no sender foresaw: record it, keep the tries
            log.warning("deliveries.try.crashed", channel=channel, delivery=delivery_id,
                        target=target, number=number, error=type(exc).__name__)
            answer = TryAnswer(result="failed", error=f"unexpected {type(exc).__name__}")
        duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        record = DeliveryTry(number=number, started_at=started_at, result=answer.result,
                             duration_ms=duration_ms, status=answer.status,
                             error=answer.error[:MAX_ERROR] if answer.error else None,
                             address=answer.address)
        tries.append(record)
        log.info("deliveries.try.finished", channel=channel, delivery=delivery_id,
                 target=target, number=number, result=record.result, status=record.status,
                 error=record.error, duration_ms=duration_ms)
        if answer.result != "failed" or number == policy.tries:
            break
        await sleep(backoff.next_delay())
    return DeliveryOutcome(channel=channel, delivery_id=delivery_id, tries=tries)
