"""The ingest loop: fetch → decode and map → buffer → store → acknowledge.

One batch fills while the previous one is being stored, so fetching overlaps the
insert; a third batch never starts, which bounds memory (a slow or down store stops
fetching instead of growing the buffer). Messages are acknowledged only after their
rows are stored (or found already stored); invalid ones only after the dead-letter
stream confirmed them.

`ack_wait` is short (10 s by default) so that a crashed worker's messages are
redelivered to the others within seconds; a heartbeat tells JetStream "in progress"
for every batch held longer than a third of it (a slow insert, storage retries), so a
live worker never loses its messages to that short wait.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats.errors
import structlog

from chanalytics.clickhouse.storage import StorageUnavailable
from chanalytics.coordination.lease import LeaseLost
from chanalytics.ingest.buffer import Batch, Clock, FlushPolicy
from chanalytics.ingest.deadletter import DeadLetterPublisher
from chanalytics.ingest.delivery import delivery_of
from chanalytics.ingest.pull import JetStreamPull
from chanalytics.ingest.writer import BatchWriter, WriteResult
from chanalytics.mappers import InvalidEvent, map_event
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)

FETCH_MAX = 1000


class IngestConsumer:
    def __init__(
        self,
        pull: JetStreamPull,
        writer: BatchWriter,
        dead_letters: DeadLetterPublisher,
        metrics: Metrics,
        policy: FlushPolicy,
        *,
        max_deliveries: int,
        ack_wait: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.pull = pull
        self.writer = writer
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.policy = policy
        self.max_deliveries = max_deliveries
        self.ack_wait = ack_wait
        self.clock = clock
        self.stopping = asyncio.Event()
        self._filling = Batch(clock)
        self._flushing: Batch | None = None
        writer.should_stop = self.stopping.is_set

    async def run(self) -> None:
        """Consume until `stopping` is set, then store what is buffered."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._consume()
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ack_wait / 4)
            await self._keep_pending_alive()

    async def _consume(self) -> None:
        flush_task: asyncio.Task[None] | None = None
        while not self.stopping.is_set():
            if len(self._filling) >= self.policy.max_size or self.policy.due(self._filling):
                if flush_task is not None:
                    await flush_task  # back-pressure: one batch in flight at most
                flush_task = asyncio.create_task(self._flush(self._filling))
                self._filling = Batch(self.clock)
                continue
            room = self.policy.max_size - len(self._filling)
            timeout = min(1.0, max(0.05, self.policy.wait_budget(self._filling)))
            try:
                messages = await self.pull.fetch(min(room, FETCH_MAX), timeout)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.NoServersError,
                    nats.errors.ConnectionReconnectingError, nats.errors.Error) as exc:
                log.warning("ingest.fetch.failed", error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            for message in messages:
                await self._accept(message, self.pull.arrived)
        if flush_task is not None:
            await flush_task
        if len(self._filling):
            await self._flush(self._filling)

    async def _accept(self, msg: Any, arrived: float | None) -> None:
        stream_seq, delivered = delivery_of(msg.reply)
        if delivered > 1:
            self.metrics.redeliveries.inc()
        if delivered > self.max_deliveries:
            await self._dead_letter(
                msg, "max-deliveries",
                f"delivered {delivered} times without being stored "
                f"(limit {self.max_deliveries})",
            )
            return
        try:
            row = map_event(msg.subject, msg.data, stream_seq)
        except InvalidEvent as exc:
            await self._dead_letter(msg, exc.code, exc.message)
            return
        self._filling.add(row, msg, arrived)

    async def _dead_letter(self, msg: Any, code: str, reason: str) -> None:
        try:
            await self.dead_letters.publish(msg, code, reason)
        except Exception as exc:  # not confirmed: leave unacked, JetStream redelivers it
            log.error("ingest.dead_letter.failed", error=repr(exc), subject=msg.subject)
            return
        await _ack(msg)

    async def _flush(self, batch: Batch) -> None:
        self._flushing = batch
        try:
            result = await self.writer.write(batch.rows)
        except StorageUnavailable as exc:
            # Only when stopping: leave everything unacked; it is redelivered.
            log.warning("ingest.batch.abandoned", batch_size=len(batch), error=str(exc))
            return
        except LeaseLost as exc:
            # Nothing was committed: hand the messages back to be stored by whoever
            # holds the lease now (possibly this process, once it takes it again).
            log.warning("ingest.batch.fenced", batch_size=len(batch), error=str(exc))
            for msg in batch.messages:
                await _nak(msg)
            return
        finally:
            self._flushing = None
        await self._acknowledge(batch, result)

    async def _acknowledge(self, batch: Batch, result: WriteResult) -> None:
        """Everything in `batch` is stored (or dead-lettered now): acknowledge it."""
        rejected = {row.id: error for row, error in result.rejected}
        for row, msg in zip(batch.rows, batch.messages, strict=True):
            if row.id in rejected:
                await self._dead_letter(msg, "insert-rejected", rejected[row.id])
            else:
                await _ack(msg)

    async def _keep_pending_alive(self) -> None:
        """Tell JetStream that messages held for a third of `ack_wait` (a slow insert,
        storage retries) are still being worked on, so they are not redelivered."""
        for batch in (self._flushing, self._filling):
            if batch is None or not len(batch) or batch.unsignalled_for() < self.ack_wait / 3:
                continue
            batch.signalled = self.clock()
            for msg in batch.messages:
                try:
                    await msg.in_progress()
                except Exception:  # a lost signal only risks a redelivery, which dedup absorbs
                    return


async def _nak(msg: Any) -> None:
    try:
        await msg.nak()
    except Exception as exc:  # not delivered: ack_wait redelivers it anyway
        log.warning("ingest.nak.failed", error=repr(exc))


async def _ack(msg: Any) -> None:
    try:
        await msg.ack()
    except Exception as exc:  # an ack that does not arrive means a redelivery; dedup absorbs it
        log.warning("ingest.ack.failed", error=repr(exc))
