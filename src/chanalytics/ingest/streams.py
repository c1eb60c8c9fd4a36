"""The source stream, the dead-letter stream and the durable pull consumer."""

from __future__ import annotations

import structlog
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from chanalytics.mappers.events import SUBJECTS

log = structlog.get_logger(__name__)

DLQ_SUBJECT_PREFIX = "analytics.dlq."
# The source stream takes exactly the subjects the decoder knows (`publish` names them).
SOURCE_SUBJECTS: tuple[str, ...] = SUBJECTS

async def ensure_stream(js: JetStreamContext, name: str, subjects: list[str],
                        replicas: int = 1) -> None:
    """Create the stream, or add subjects it lacks and set its replicas (a cluster keeps
    `replicas` copies; one node's loss then loses nothing)."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            await js.add_stream(StreamConfig(name=name, subjects=subjects,
                                             duplicate_window=120.0, num_replicas=replicas))
            return
        except BadRequestError:  # another process created it a moment before
            info = await js.stream_info(name)
    have = list(info.config.subjects or [])
    missing = [s for s in subjects if s not in have]
    if missing or (info.config.num_replicas or 1) != replicas:
        info.config.subjects = have + missing
        info.config.num_replicas = replicas
        await js.update_stream(info.config)


async def ensure_consumer(
    js: JetStreamContext, stream: str, durable: str, max_ack_pending: int, ack_wait: float
) -> None:
    """Create the durable pull consumer with explicit acks (idempotent)."""
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait,
        # Unlimited: the consumer itself dead-letters a message after too many deliveries,
        # so JetStream never drops one silently.
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
        max_waiting=512,
    )
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        await js.add_consumer(stream, config)
        return
    if info.config.ack_wait != ack_wait or info.config.max_ack_pending != max_ack_pending:
        # Settings changed since the consumer was made (an upgrade from a minute's ack_wait).
        await js.add_consumer(stream, config)  # create-or-update for a durable name
        log.info("ingest.consumer.updated", ack_wait_s=ack_wait, max_ack_pending=max_ack_pending)


async def ensure_all(
    js: JetStreamContext, *, stream: str, dlq_stream: str, durable: str, max_ack_pending: int,
    ack_wait: float, replicas: int = 1,
) -> None:
    await ensure_stream(js, stream, list(SOURCE_SUBJECTS), replicas)
    await ensure_stream(js, dlq_stream, [DLQ_SUBJECT_PREFIX + ">"], replicas)
    await ensure_consumer(js, stream, durable, max_ack_pending, ack_wait)
