"""The live hub: one subscription to the stored stream per API process, shared by the open
streams of each tenant.

The hub keeps, per tenant with open streams, a `Feed`: the tenant's newest messages,
each event decoded once and its SSE frame encoded once, up to `TAIL_EVENTS` events. Each
open stream is a `Listener` with its own position in the feed; its client reads at its
own pace, at most `CAPACITY` events per write. A client that falls so far behind that
the feed drops messages it had not read gets one `dropped` notice with the count, where
the events would have been. Nothing waits for a client: a slow one never slows the hub,
ingest or the other clients, and memory is bounded per tenant, not per client. The feed
holds a whole ingest batch (a burst stored at once), so a client that keeps up misses
nothing however the events are batched.

The hub reads the stream with an ordered consumer: after a NATS restart or a lost
connection it starts again from the sequence after the last it saw, so no stored event
is skipped.

A client that resumes (`Last-Event-ID`) reads from the stream itself, one message at a
time as it writes, until it reaches what the feed holds. If the message its cursor names
is still kept, every later message of its tenant is too (the stream drops the oldest
first), so it loses nothing; otherwise it is reset.
"""

from __future__ import annotations

import asyncio
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

CAPACITY = 1000  # events written to a client at once: its buffer
TAIL_EVENTS = 20_000  # events a tenant's feed keeps: a whole default ingest batch
STREAMS_PER_TENANT = 20
KEEPALIVE_SECONDS = 15.0

_encoder = msgspec.json.Encoder()
Message = tuple[int, list[tuple[LiveEvent, bytes]]]  # sequence, events with their frames
_GONE: Message = (0, [])  # the slot of a message the feed let go


class TooManyStreams(Exception):
    """The tenant already has the most open streams this process allows."""


def event_frame(event_cursor: int, event: LiveEvent) -> bytes:
    return (b"id: %d\nevent: event\ndata: " % event_cursor) + _encoder.encode(event) + b"\n\n"


def frame(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: ".encode() + _encoder.encode(data) + b"\n\n"


def framed(seq: int, events: list[LiveEvent]) -> Message:
    return seq, [(event, event_frame(cursor(seq, i), event)) for i, event in enumerate(events)]


class Feed:
    """A tenant's newest messages (absolute indexes count from the hub's start)."""

    def __init__(self, tail_events: int = TAIL_EVENTS) -> None:
        self.tail_events = tail_events
        self.base = 0  # the absolute index of the oldest message held
        self._messages: list[Message] = []
        self._start = 0  # of the oldest held in `_messages`
        self._held = 0
        self._changed = asyncio.Event()
        self.listeners: set[Listener] = set()

    @property
    def end(self) -> int:
        return self.base + len(self._messages) - self._start

    def at(self, index: int) -> Message:
        return self._messages[self._start + index - self.base]

    def first_after(self, seq: int) -> int:
        """The absolute index of the first message with a sequence after `seq`."""
        index = self.base
        while index < self.end and self.at(index)[0] <= seq:
            index += 1
        return index

    def push(self, message: Message) -> None:
        self._messages.append(message)
        self._held += len(message[1])
        while self._held > self.tail_events and self.end - self.base > 1:
            oldest = self._messages[self._start]
            for listener in self.listeners:
                listener.lost(self.base, oldest)
            self._held -= len(oldest[1])
            self._messages[self._start] = _GONE  # freed now, not when the list is trimmed
            self._start += 1
            self.base += 1
        if self._start > 1024 and self._start * 2 > len(self._messages):
            del self._messages[:self._start]
            self._start = 0
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, seconds: float) -> bool:
        """True when a message came within `seconds`."""
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass(eq=False)
class Listener:
    """One open stream: its filters and where its client is in the tenant's feed."""

    tenant_id: str
    feed: Feed
    channel: str | None = None
    types: frozenset[str] | None = None
    next: int = 0  # the absolute feed index of the next message to read
    after: int = -1  # events of that message up to this index were read
    dropped: int = 0  # events lost since the client last read
    resume: _Resume | None = None  # reading from the stream until the feed has the rest
    _ready: list[bytes] = field(default_factory=list)

    def matches(self, event: LiveEvent) -> bool:
        return ((self.channel is None or event.channel == self.channel)
                and (self.types is None or event.type in self.types))

    def lost(self, index: int, message: Message) -> None:
        """The feed drops the message at `index`: count what this client had not read."""
        if self.resume is not None or self.next > index:
            return
        self.dropped += sum(1 for event, _ in message[1][self.after + 1:] if self.matches(event))
        self.next, self.after = index + 1, -1

    def _read(self, message: Message, after: int, room: int) -> tuple[list[bytes], int]:
        """Frames of the message's matching events after `after`, at most `room`; and the
        index of the last event looked at."""
        out: list[bytes] = []
        events = message[1]
        index = after
        while index + 1 < len(events) and len(out) < room:
            index += 1
            event, encoded = events[index]
            if self.matches(event):
                out.append(encoded)
        return out, index

    def take_from_feed(self) -> list[bytes]:
        out: list[bytes] = []
        while len(out) < CAPACITY and self.next < self.feed.end:
            message = self.feed.at(self.next)
            frames, last = self._read(message, self.after, CAPACITY - len(out))
            out += frames
            if last + 1 >= len(message[1]):
                self.next, self.after = self.next + 1, -1
            else:
                self.after = last
        return out

    async def frames(self, js: JetStreamContext,
                     keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[bytes]:
        """The client's bytes: what it has not read, a keep-alive when idle."""
        while True:
            chunk: list[bytes] = []
            if self.dropped:
                chunk.append(frame("dropped", {"count": self.dropped}))
                self.dropped = 0
            if self.resume is not None:
                chunk += await self.resume.next_frames(js, self)
            else:
                chunk += self.take_from_feed()
            if chunk:
                yield b"".join(chunk)
            elif self.resume is None and not await self.feed.wait(keepalive):
                yield b": keep-alive\n\n"


@dataclass
class _Resume:
    """A resuming listener's place in the stream: the last sequence and index read."""

    seq: int
    after: int

    async def next_frames(self, js: JetStreamContext, listener: Listener) -> list[bytes]:
        """The next message's frames, read from the stream; hands over to the feed once
        the feed holds the next message, or the stream has none yet."""
        name = subject(listener.tenant_id)
        feed = listener.feed
        try:
            found = await js.get_msg(STREAM, seq=self.seq + 1, subject=name, next=True)
        except NotFoundError:
            found = None
        feed_first = feed.at(feed.base)[0] if feed.end > feed.base else None
        if (found is None or found.seq is None or found.data is None
                or (feed_first is not None and found.seq >= feed_first)):
            listener.next, listener.after = feed.first_after(self.seq), -1
            listener.resume = None
            return []
        self.seq = found.seq
        frames, _ = listener._read(framed(found.seq, decode(found.data)), -1, 10**9)
        return frames


class LiveHub:
    """The process's subscription to the stored stream and its tenants' feeds."""

    def __init__(self, js: JetStreamContext, *, replicas: int = 1,
                 per_tenant: int = STREAMS_PER_TENANT, tail_events: int = TAIL_EVENTS) -> None:
        self.js = js
        self.replicas = replicas
        self.per_tenant = per_tenant
        self.tail_events = tail_events
        self._feeds: dict[str, Feed] = {}
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
        feed = self._feeds.get(tenant_id)
        if feed is None:
            feed = self._feeds[tenant_id] = Feed(self.tail_events)
        if len(feed.listeners) >= self.per_tenant:
            raise TooManyStreams(tenant_id)
        listener = Listener(tenant_id, feed, channel, types, next=feed.end)
        feed.listeners.add(listener)
        log.info("live.stream.opened", tenant_id=tenant_id, streams=len(feed.listeners))
        return listener

    def close(self, listener: Listener) -> None:
        feed = self._feeds.get(listener.tenant_id)
        if feed is not None:
            feed.listeners.discard(listener)
            if not feed.listeners:  # nobody listens: the tenant's messages are not kept
                del self._feeds[listener.tenant_id]
        log.info("live.stream.closed", tenant_id=listener.tenant_id,
                 streams=len(feed.listeners) if feed is not None else 0)

    async def resume(self, listener: Listener, after: int) -> bool:
        """Start `listener` after the cursor `after`; False when that cursor's message is
        no longer kept (or is not its tenant's)."""
        seq, index = split_cursor(after)
        try:
            first = await self.js.get_msg(STREAM, seq=seq)
        except NotFoundError:
            return False
        if first.subject != subject(listener.tenant_id) or first.data is None:
            return False
        listener.resume = _Resume(seq, index)
        listener._ready = listener._read(framed(seq, decode(first.data)), index, 10**9)[0]
        return True

    def frames(self, listener: Listener, keepalive: float) -> AsyncIterator[bytes]:
        return _with_ready(listener, listener.frames(self.js, keepalive))

    async def _on_message(self, msg: Msg) -> None:
        tenant = tenant_of(msg.subject)
        feed = self._feeds.get(tenant) if tenant is not None else None
        if feed is None:
            return
        feed.push(framed(msg.metadata.sequence.stream, decode(msg.data)))


async def _with_ready(listener: Listener, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The rest of the resumed message first, then the listener's frames."""
    if listener._ready:
        ready, listener._ready = listener._ready, []
        yield b"".join(ready)
    async for chunk in frames:
        yield chunk
