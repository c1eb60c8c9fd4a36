"""Pull requests to the durable consumer, answered into one inbox subscription.

nats-py's `fetch()` awaits every message of a batch separately (`next_msg` with its own
timeout): `next_msg` and its timer were about 19% of the ingest process's main thread in
a py-spy profile of a 1M-event backlog. Here one subscription callback appends each
message to a list and one event wakes the fetch when the batch is complete or the server
ends the request (404 no messages, 408 expired, 409 …).

A request answered after its fetch gave up still lands in the list: the next fetch
returns it first. Nothing received is ever dropped, and what waits here is bounded by
the batches of the (at most two) requests outstanding at a time.

`arrived` says when the oldest message a fetch returned reached this process, so the
batch's age (and the flush it triggers) counts from there, not from the end of a fetch
that may have waited most of a second longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import DEFAULT_PREFIX

# Server statuses that end a pull request without an error: nothing (more) to deliver.
_QUIET_END = frozenset({"404", "408"})
_HEARTBEAT = "100"
# How long past the request's own expiry the fetch waits for the server's 408.
_GRACE = 0.25


class JetStreamPull:
    """`fetch(batch, wait)` over a durable pull consumer, like nats-py's, minus its cost."""

    def __init__(self, nc: NATS, stream: str, durable: str, *, prefix: str = DEFAULT_PREFIX,
                 clock: Callable[[], float] = time.monotonic):
        self._nc = nc
        self._clock = clock
        self._first_at: float | None = None  # when `_received[0]` (or an older one) arrived
        self.arrived: float | None = None  # when the oldest message of the last fetch arrived
        self._next_subject = f"{prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._received: list[Msg] = []
        self._wanted = 0
        self._ended: str | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _on_message(self, msg: Msg) -> None:
        status = JetStreamContext.is_status_msg(msg)
        if status is None:
            if not self._received:
                self._first_at = self._clock()
            self._received.append(msg)
            if len(self._received) >= self._wanted:
                self._wake.set()
        elif status != _HEARTBEAT:
            self._ended = status
            self._wake.set()

    async def fetch(self, batch: int, wait: float) -> list[Msg]:
        """Up to `batch` messages: those already here, else what arrives within `wait` s."""
        if len(self._received) < batch:
            self._wanted = batch
            self._ended = None
            self._wake.clear()
            request = {"batch": batch - len(self._received), "expires": int(wait * 1e9)}
            await self._nc.publish(self._next_subject, json.dumps(request).encode(),
                                   reply=self._inbox)
            # Past the grace the server's answer was lost (a reconnect): the next fetch asks again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait + _GRACE)
        messages, self._received = self._received[:batch], self._received[batch:]
        # What stays behind arrived no earlier than the first returned: its stamp is an
        # upper bound of their age, so a batch it starts is flushed early, never late.
        self.arrived = self._first_at if messages else None
        if not self._received:
            self._first_at = None
        ended = self._ended
        if not messages and ended is not None and ended not in _QUIET_END:
            raise nats.errors.Error(f"pull request ended with status {ended}")
        return messages
