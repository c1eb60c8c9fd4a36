"""The live hub: one subscription to the stored stream per API process, fanned out to the
open streams of each tenant.

Each open stream is a `Listener` with a bounded buffer of encoded SSE frames. The hub
decodes a message once and offers it to the tenant's listeners; a listener keeps what
matches its filters while it has room, and past that counts what it missed, which its
client then reads as one `dropped` notice where the events would have been. Nothing
waits for a client: a slow one never slows the hub, ingest or the other clients, and a
listener's memory is bounded by its capacity.

The hub reads the stream with an ordered consumer: after a NATS restart or a lost
connection it starts again from the sequence after the last it saw, so no stored event
is skipped. A listener drops a message whose sequence it has already taken, so a
message reaches a client once even when its resume replay and the hub both offer it.

A client that resumes (`Last-Event-ID`) is replayed from the stream: if the message its
cursor names is still kept, every later message of its tenant is too (the stream drops
the oldest first), so the replay loses nothing; otherwise the client is reset.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from chanalytics.live.stored import (
    STREAM,
    SUBJECT_PREFIX,
    LiveEvent,
    cursor,
    decode,
    ensure_stored_stream,
    split_cursor,
    subject,
    tenant_of,
)

log = structlog.get_logger(__name__)

CAPACITY = 1000  # events a listener holds for its client
STREAMS_PER_TENANT = 20
KEEPALIVE_SECONDS = 15.0
_PENDING = 100  # messages a replaying listener keeps from the hub meanwhile
_CHUNK = 500  # frames written to a client at once

_encoder = msgspec.json.Encoder()


class TooManyStreams(Exception):
    """The tenant already has the most open streams this process allows."""


@dataclass
class _Dropped:
    count: int


def event_frame(event_cursor: int, event: LiveEvent) -> bytes:
    return (b"id: %d\nevent: event\ndata: " % event_cursor) + _encoder.encode(event) + b"\n\n"


def frame(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: ".encode() + _encoder.encode(data) + b"\n\n"


@dataclass(eq=False)
class Listener:
    """One open stream: its tenant, its filters, and what its client has not read yet."""

    tenant_id: str
    channel: str | None = None
    types: frozenset[str] | None = None
    capacity: int = CAPACITY
    last_seq: int = 0  # the newest stream sequence taken
    _items: deque[bytes | _Dropped] = field(default_factory=deque)
    _held: int = 0  # events in `_items`
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: deque[tuple[int, list[LiveEvent]]] | None = None  # while replaying

    def matches(self, event: LiveEvent) -> bool:
        return ((self.channel is None or event.channel == self.channel)
                and (self.types is None or event.type in self.types))

    def offer(self, seq: int, events: list[LiveEvent]) -> None:
        """A message from the hub."""
        if self._pending is not None:
            self._pending.append((seq, events))
        else:
            self.take(seq, events)

    def take(self, seq: int, events: list[LiveEvent], after_index: int = -1) -> None:
        """Keep the message's matching events (those after `after_index`), unless this
        sequence was taken already."""
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        for index, event in enumerate(events):
            if index <= after_index or not self.matches(event):
                continue
            if self._held >= self.capacity:
                last = self._items[-1] if self._items else None
                if isinstance(last, _Dropped):
                    last.count += 1
                else:
                    self._items.append(_Dropped(1))
                continue
            self._items.append(event_frame(cursor(seq, index), event))
            self._held += 1
        self._wake.set()

    def replaying(self) -> None:
        self._pending = deque(maxlen=_PENDING)

    def live(self) -> None:
        """Replay done: take what the hub offered meanwhile (repeats are dropped)."""
        pending, self._pending = self._pending or deque(), None
        for seq, events in pending:
            self.take(seq, events)

    async def frames(self, keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[bytes]:
        """The client's bytes: buffered frames in chunks, a keep-alive when idle."""
        while True:
            if not self._items:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), keepalive)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                continue
            chunk: list[bytes] = []
            while self._items and len(chunk) < _CHUNK:
                item = self._items.popleft()
                if isinstance(item, _Dropped):
                    chunk.append(frame("dropped", {"count": item.count}))
                else:
                    self._held -= 1
                    chunk.append(item)
            yield b"".join(chunk)


class LiveHub:
    """The process's subscription to the stored stream and its open listeners."""

    def __init__(self, js: JetStreamContext, *, replicas: int = 1,
                 per_tenant: int = STREAMS_PER_TENANT) -> None:
        self.js = js
        self.replicas = replicas
        self.per_tenant = per_tenant
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        await ensure_stored_stream(self.js, self.replicas)
        self._subscription = await self.js.subscribe(
            SUBJECT_PREFIX + ">", stream=STREAM, ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW, idle_heartbeat=2.0, cb=self._on_message)
        log.info("live.hub.started", stream=STREAM)

    async def stop(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception as exc:  # the connection is already closed
                log.debug("live.hub.unsubscribe_failed", error=repr(exc))
            self._subscription = None

    def open(self, tenant_id: str, *, channel: str | None = None,
             types: frozenset[str] | None = None) -> Listener:
        """A listener that receives the tenant's stored events from now on."""
        listeners = self._listeners[tenant_id]
        if len(listeners) >= self.per_tenant:
            raise TooManyStreams(tenant_id)
        listener = Listener(tenant_id, channel, types)
        listeners.add(listener)
        log.info("live.stream.opened", tenant_id=tenant_id, streams=len(listeners))
        return listener

    def close(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.tenant_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.tenant_id]
        log.info("live.stream.closed", tenant_id=listener.tenant_id,
                 streams=len(listeners or ()))

    async def replay(self, listener: Listener, after: int) -> bool:
        """Give `listener` every message of its tenant after the cursor `after`; False
        (nothing given) when that cursor's message is no longer kept."""
        seq, index = split_cursor(after)
        name = subject(listener.tenant_id)
        try:
            first = await self.js.get_msg(STREAM, seq=seq)
        except NotFoundError:
            return False
        if first.subject != name or first.data is None:
            return False  # another tenant's cursor, or a made-up one
        listener.replaying()
        try:
            listener.take(seq, decode(first.data), after_index=index)
            while True:
                try:
                    found = await self.js.get_msg(STREAM, seq=listener.last_seq + 1,
                                                  subject=name, next=True)
                except NotFoundError:
                    break
                if found.seq is None or found.data is None:
                    break
                listener.take(found.seq, decode(found.data))
        finally:
            listener.live()
        return True

    async def _on_message(self, msg: Msg) -> None:
        tenant = tenant_of(msg.subject)
        listeners = self._listeners.get(tenant) if tenant is not None else None
        if not listeners:
            return
        seq = msg.metadata.sequence.stream
        events = decode(msg.data)
        for listener in list(listeners):
            listener.offer(seq, events)
