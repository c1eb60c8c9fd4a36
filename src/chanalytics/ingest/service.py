"""The ingest daemon: connect, make sure streams exist, consume until told to stop."""

from __future__ import annotations

import asyncio

import nats
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chanalytics.api.readiness import stream_status
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings
from chanalytics.connections import nats_options, nats_servers
from chanalytics.coordination.lease import KvLease
from chanalytics.ingest.buffer import FlushPolicy
from chanalytics.ingest.consumer import IngestConsumer
from chanalytics.ingest.deadletter import DeadLetterPublisher
from chanalytics.ingest.jobs import build_scheduler
from chanalytics.ingest.pull import JetStreamPull
from chanalytics.ingest.streams import ensure_all
from chanalytics.ingest.writer import BatchWriter
from chanalytics.live.stored import StoredNotices
from chanalytics.metrics import Metrics
from chanalytics.versions import KvVersions, LocalVersions, Versions

log = structlog.get_logger(__name__)


class IngestService:
    """Owns the NATS connection and the consumer task; also answers readiness for NATS."""

    def __init__(self, settings: Settings, storage: Storage, metrics: Metrics, nats_url: str,
                 *, shared_lock: bool = False):
        self.settings = settings
        self.storage = storage
        self.metrics = metrics
        self.nats_url = nats_url
        self.shared_lock = shared_lock
        # The tenants' versions its writer announces changes to (`versions.py`): this
        # process's own with the embedded engine (it is the only writer), else the
        # deployment's bucket, which every API process reads.
        self.versions: Versions = LocalVersions()
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.consumer: IngestConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        # Its periodic jobs; the CLI adds the daily export to it (`warehouse/daily.py`).
        self.scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        s = self.settings
        self.nc = await nats.connect(
            nats_servers(self.nats_url), max_reconnect_attempts=-1, reconnect_time_wait=0.25,
            allow_reconnect=True, name="chanalytics-ingest",
            pending_size=64 * 1024 * 1024, **nats_options(s),
        )
        self.js = self.nc.jetstream(timeout=10)
        max_ack_pending = max(2 * s.batch_size + 2000, 10_000)
        await ensure_all(self.js, stream=s.stream_name, dlq_stream=s.dlq_stream,
                         replicas=s.stream_replicas,
                         durable=s.consumer_name, max_ack_pending=max_ack_pending,
                         ack_wait=s.ingest_ack_wait_ms / 1000)
        pull = JetStreamPull(self.nc, s.stream_name, s.consumer_name)
        await pull.start()
        # One process owns an embedded engine; with a server, ingest processes share a lease.
        lock = None if self.storage.embedded and not self.shared_lock else KvLease(self.js)
        if not self.storage.embedded:
            self.versions = KvVersions(self.js, replicas=s.stream_replicas)
        notices = StoredNotices(self.js, replicas=s.stream_replicas)
        writer = BatchWriter(self.storage, self.metrics, lock, versions=self.versions,
                             notices=notices)
        self.consumer = IngestConsumer(
            pull, writer, DeadLetterPublisher(self.js, s.dlq_stream, self.metrics), self.metrics,
            FlushPolicy(max_size=s.batch_size, max_age=s.ingest_flush_interval_ms / 1000),
            max_deliveries=s.ingest_max_deliveries, ack_wait=s.ingest_ack_wait_ms / 1000,
        )
        scheduler = build_scheduler(self.storage, self.metrics, self.js, s.stream_name,
                                    s.consumer_name)
        scheduler.start()
        self.scheduler = scheduler
        self._task = asyncio.create_task(self.consumer.run(), name="ingest-consumer")
        log.info("ingest.started", stream=s.stream_name, consumer=s.consumer_name,
                 batch_size=s.batch_size, flush_interval_ms=s.ingest_flush_interval_ms)

    async def stop(self) -> None:
        """Stop fetching, store and acknowledge what is buffered, close the connection."""
        if self.consumer is not None:
            self.consumer.stopping.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("ingest.consumer.crashed")
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.nc is not None and not self.nc.is_closed:
            try:
                # Acks are plain publishes: a flush makes sure the server has them all.
                await self.nc.flush(timeout=5)
            except Exception as exc:  # disconnected: unsent acks mean redeliveries, deduped
                log.warning("ingest.flush.failed", error=repr(exc))
            await self.nc.close()
        log.info("ingest.stopped")

    async def wait(self) -> None:
        """Return when the consumer task ends (it only ends on stop or a crash)."""
        if self._task is not None:
            await self._task

    async def nats_ready(self) -> dict[str, bool]:
        """NATS checks, plus whether this process's consumer is still running (a crashed
        consumer in `chanalytics run` must not leave the API looking ready)."""
        s = self.settings
        status = await stream_status(self.nc, s.stream_name, s.consumer_name)
        running = self._task is not None and not self._task.done()
        status["consumer"] = status["consumer"] and running
        return status
