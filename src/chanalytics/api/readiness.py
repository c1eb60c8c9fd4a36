"""Readiness: storage answers, NATS is connected, the source stream and durable consumer exist."""

from __future__ import annotations

from typing import Any, Protocol

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from chanalytics.clickhouse.storage import Storage
from chanalytics.connections import nats_servers

log = structlog.get_logger(__name__)


class NatsCheck(Protocol):
    async def nats_ready(self) -> dict[str, bool]: ...


class NatsProbe:
    """Checks NATS for an API process that reports on ingest without running it."""

    def __init__(self, url: str, stream: str, consumer: str,
                 options: dict[str, Any] | None = None) -> None:
        self.url, self.stream, self.consumer = url, stream, consumer
        self.options = options or {}
        self.nc: NATS | None = None

    async def start(self) -> None:
        try:
            self.nc = await nats.connect(
                nats_servers(self.url), max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                connect_timeout=2, allow_reconnect=True, **self.options,
            )
        except Exception as exc:  # a down server must not stop the API from starting
            log.warning("health.nats.unreachable", url=self.url, error=str(exc))

    async def stop(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    async def nats_ready(self) -> dict[str, bool]:
        if self.nc is None:
            await self.start()
        return await stream_status(self.nc, self.stream, self.consumer)


async def stream_status(nc: NATS | None, stream: str, consumer: str) -> dict[str, bool]:
    status = {"nats": bool(nc and nc.is_connected), "stream": False, "consumer": False}
    if nc is None or not status["nats"]:
        return status
    js = nc.jetstream(timeout=2)
    try:
        await js.stream_info(stream)
        status["stream"] = True
        await js.consumer_info(stream, consumer)
        status["consumer"] = True
    except (TimeoutError, NotFoundError, nats.errors.Error):
        pass
    return status


async def readiness(storage: Storage, nats_check: NatsCheck | None,
                    uses_nats: bool = True) -> dict[str, bool]:
    """What the process depends on, each true or false: storage, and NATS, the stream and
    the consumer when it uses NATS (ingest, `run`; not `serve`)."""
    checks = {"storage": await storage.ping()}
    if not uses_nats:
        return checks
    if nats_check is None:
        checks.update(nats=False, stream=False, consumer=False)
    else:
        checks.update(await nats_check.nats_ready())
    return checks
