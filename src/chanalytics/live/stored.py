"""The "stored" stream: what the writer publishes once a batch's events are counted.

The live stream (`GET /live`) must show an event only once the numbers count it, each
stored event once, to every API process, and let a client that reconnects resume
without loss. So after a batch becomes visible (`ingest/writer.py`), and before its
write-ahead record is dropped, the writer publishes the batch's events to a JetStream
stream with limits, one message per tenant and up to `PER_MESSAGE` events:

- JetStream rather than core NATS: a message is kept (at least `KEEP_SECONDS`, and a
  tenant's last `KEEP_PER_TENANT` messages while they fit in `MAX_BYTES`), so a client
  resumes from its cursor, and an API process that lost its connection a moment
  catches up from the sequence it last saw.
- A message id per (batch, tenant, part): a writer that is killed after publishing and
  whose batch a recovery moves again publishes the same ids, which the stream drops as
  duplicates (its window is as long as the messages are kept).
- The cursor of an event is `stream sequence * PER_MESSAGE + its index`: it increases
  along the stream, and names the message to resume from.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import suppress

import msgspec
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from chanalytics.localtime import utc_text
from chanalytics.mappers.events import SUBJECTS, event_type_for
from chanalytics.mappers.rows import AnalyticsRow
from chanalytics.versions import kv_key

STREAM = "ANALYTICS_STORED"
SUBJECT_PREFIX = "analytics.stored."
PER_MESSAGE = 1000  # events per message: well under NATS's 1 MB payload
KEEP_SECONDS = 15 * 60  # the contract resumes within 10 minutes; a margin beyond it
KEEP_PER_TENANT = 100_000  # messages kept per tenant, whatever their age, within MAX_BYTES
MAX_BYTES = 1024**3
EVENT_TYPES: frozenset[str] = frozenset(event_type_for(s) for s in SUBJECTS)


class LiveEvent(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                omit_defaults=False):
    """One stored event as the live stream shows it (absent values null)."""

    id: str
    type: str
    occurred_at: str  # RFC 3339 in UTC, as every answer writes instants
    channel: str | None
    entity_type: str | None
    entity_id: str | None
    contact_id: str | None
    campaign_id: str | None
    workflow_id: str | None
    sequence_id: str | None
    template_id: str | None
    provider: str | None

    @classmethod
    def of(cls, row: AnalyticsRow) -> LiveEvent:
        return cls(id=row.id, type=row.event_type, occurred_at=utc_text(row.occurred_at),
                   channel=row.channel or None, entity_type=row.entity_type or None,
                   entity_id=row.entity_id or None, contact_id=row.contact_id or None,
                   campaign_id=row.campaign_id or None, workflow_id=row.workflow_id or None,
                   sequence_id=row.sequence_id or None, template_id=row.template_id or None,
                   provider=row.provider or None)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[LiveEvent])


def subject(tenant_id: str) -> str:
    return SUBJECT_PREFIX + kv_key(tenant_id)


def tenant_of(subject_name: str) -> str | None:
    """The tenant a message's subject names (None for a subject of no tenant)."""
    key = subject_name.removeprefix(SUBJECT_PREFIX)
    if key.startswith("t."):
        return key[2:]
    if key.startswith("h."):
        try:
            return bytes.fromhex(key[2:]).decode()
        except ValueError:
            return None
    return None


def decode(data: bytes) -> list[LiveEvent]:
    return _decoder.decode(data)


def cursor(sequence: int, index: int) -> int:
    return sequence * PER_MESSAGE + index


def split_cursor(value: int) -> tuple[int, int]:
    """(stream sequence, index in its message)."""
    return divmod(value, PER_MESSAGE)


async def ensure_stored_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the stream when it is missing (the writer and every API process ask)."""
    try:
        await js.stream_info(STREAM)
        return
    except NotFoundError:
        pass
    with suppress(BadRequestError):  # another process created it a moment before
        await js.add_stream(StreamConfig(
            name=STREAM, subjects=[SUBJECT_PREFIX + ">"], max_age=KEEP_SECONDS,
            max_msgs_per_subject=KEEP_PER_TENANT, max_bytes=MAX_BYTES,
            discard=DiscardPolicy.OLD, duplicate_window=KEEP_SECONDS, num_replicas=replicas))


def messages(batch: str, events: Iterable[tuple[str, LiveEvent]]
             ) -> list[tuple[str, bytes, str]]:
    """(subject, body, message id) of each message that carries a batch's events, per
    tenant in the order given, up to `PER_MESSAGE` each."""
    by_tenant: dict[str, list[LiveEvent]] = defaultdict(list)
    for tenant, event in events:
        by_tenant[tenant].append(event)
    out = []
    for tenant, listed in by_tenant.items():
        for part, start in enumerate(range(0, len(listed), PER_MESSAGE)):
            out.append((subject(tenant), _encoder.encode(listed[start:start + PER_MESSAGE]),
                        f"{batch}:{kv_key(tenant)}:{part}"))
    return out


class StoredNotices:
    """Publishes a batch's events to the stored stream: confirmed, or it raises."""

    def __init__(self, js: JetStreamContext, *, replicas: int = 1) -> None:
        self.js = js
        self.replicas = replicas
        self._ready = False

    async def publish(self, batch: str, events: Iterable[tuple[str, LiveEvent]]) -> None:
        """`events` as (tenant, event) in stream order; a tenant's messages are published
        one after another (in order), tenants at once."""
        if not self._ready:
            await ensure_stored_stream(self.js, self.replicas)
            self._ready = True
        by_subject: dict[str, list[tuple[bytes, str]]] = defaultdict(list)
        for name, body, msg_id in messages(batch, events):
            by_subject[name].append((body, msg_id))
        await asyncio.gather(*(self._in_order(name, listed)
                               for name, listed in by_subject.items()))

    async def _in_order(self, name: str, listed: list[tuple[bytes, str]]) -> None:
        for body, msg_id in listed:
            await self.js.publish(name, body, stream=STREAM, headers={"Nats-Msg-Id": msg_id})


def row_events(rows: Sequence[AnalyticsRow]) -> list[tuple[str, LiveEvent]]:
    """(tenant, event) of stored rows, in the order the source stream delivered them."""
    return [(r.tenant_id, LiveEvent.of(r)) for r in sorted(rows, key=lambda r: r.stream_seq)]
