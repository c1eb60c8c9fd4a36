"""A live-stream rig for tests: a real nats-server, the ingest service and the API served
over real HTTP (uvicorn on a loopback port), and an SSE reader over httpx."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import nats
import uvicorn
from litestar import Litestar

from chanalytics.api.services import LiveServices
from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings, load_settings
from chanalytics.ingest.service import IngestService
from chanalytics.live.hub import LiveHub
from chanalytics.live.tickets import Tickets
from chanalytics.metrics import Metrics
from chanalytics.nats.server import free_port

TOKENS = {"tok-a": "tenant_a", "tok-b": "tenant_b"}


@dataclass
class SseEvent:
    event: str
    data: Any
    id: int | None = None


@dataclass
class SseReader:
    """Reads a text/event-stream response into events (comments counted apart)."""

    response: httpx.Response
    comments: int = 0
    _lines: AsyncIterator[str] | None = None
    _pending: dict[str, str] = field(default_factory=dict)

    async def next(self, timeout: float = 30) -> SseEvent:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> SseEvent:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        async for line in self._lines:
            if line == "":
                if self._pending:
                    fields, self._pending = self._pending, {}
                    return SseEvent(fields.get("event", "message"),
                                    json.loads(fields["data"]) if "data" in fields else None,
                                    int(fields["id"]) if "id" in fields else None)
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(": ")
            self._pending[name] = value
        raise EOFError("the stream ended")

    async def events(self, count: int, timeout: float = 60) -> list[SseEvent]:
        """The next `count` `event` messages (dropped notices too, as they come)."""
        out: list[SseEvent] = []
        accounted = 0  # events received, plus those a dropped notice counts
        deadline = asyncio.get_running_loop().time() + timeout
        while accounted < count:
            event = await self.next(max(0.1, deadline - asyncio.get_running_loop().time()))
            out.append(event)
            accounted += 1 if event.event == "event" else (
                event.data["count"] if event.event == "dropped" else 0)
        return out


class SlowClient:
    """A stream client with a small socket receive buffer that reads only when told: the
    server's writes to it stall after a few kilobytes (httpx would buffer megabytes)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._body = bytearray()

    @classmethod
    async def open(cls, base: str, token: str) -> SlowClient:
        host, port = base.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        writer.write(f"GET /api/v1/analytics/live HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        await writer.drain()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # the status line and headers
        return cls(reader, writer)

    async def events(self, count: int, timeout: float = 120) -> list[SseEvent]:
        """Read (de-chunking) until `count` events are received or counted as dropped."""
        out: list[SseEvent] = []
        accounted = 0
        async with asyncio.timeout(timeout):
            while accounted < count:
                size = int((await self.reader.readline()).strip(), 16)
                self._body += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
                *blocks, rest = bytes(self._body).split(b"\n\n")
                self._body = bytearray(rest)
                for block in blocks:
                    fields = dict(line.split(": ", 1) for line in block.decode().splitlines()
                                  if not line.startswith(":"))
                    if "event" not in fields:
                        continue
                    event = SseEvent(fields["event"], json.loads(fields["data"]),
                                     int(fields["id"]) if "id" in fields else None)
                    out.append(event)
                    accounted += 1 if event.event == "event" else (
                        event.data["count"] if event.event == "dropped" else 0)
        return out

    def close(self) -> None:
        self.writer.close()


@dataclass
class LiveRig:
    settings: Settings
    storage: Storage
    nats_url: str
    base: str
    app: Litestar
    ingest: IngestService
    hub: LiveHub
    client: httpx.AsyncClient

    @asynccontextmanager
    async def stream(self, token: str | None = "tok-a", **params: str
                     ) -> AsyncIterator[SseReader]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if "last_event_id" in params:
            headers["Last-Event-ID"] = params.pop("last_event_id")
        async with self.client.stream("GET", f"{self.base}/api/v1/analytics/live",
                                      params=params, headers=headers) as response:
            yield SseReader(response)

    async def publish(self, tenant: str, count: int, *, start: int = 0,
                      channel: str = "email") -> list[str]:
        return await publish(self.nats_url, tenant, count, start=start, channel=channel)


async def publish(nats_url: str, tenant: str, count: int, *, start: int = 0,
                  channel: str = "email") -> list[str]:
    """`count` message_sent events of `tenant`, confirmed by JetStream; their ids."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        at = datetime.now(UTC) - timedelta(minutes=1)
        ids = [f"{tenant}-{n}" for n in range(start, start + count)]
        bodies = [msgspec.json.encode({
            "id": event_id, "tenantId": tenant, "timestamp": at.isoformat(),
            "data": {"messageId": f"m-{event_id}", "channel": channel,
                     "contactId": f"c{n % 7}"}}) for n, event_id in enumerate(ids)]
        for i in range(0, len(bodies), 200):  # 200 in flight, in order within each
            acks = [await js.publish_async("pipeline.message.sent", body)
                    for body in bodies[i:i + 200]]
            await asyncio.gather(*acks)
        return ids
    finally:
        await nc.close()


@asynccontextmanager
async def live_rig(storage: Storage, nats_url: str, *, keepalive: float = 15.0,
                   per_tenant: int = 20, tail_events: int = 20_000,
                   batch_size: int = 20_000) -> AsyncIterator[LiveRig]:
    settings = load_settings({
        "CHANALYTICS_API_KEYS": ",".join(f"{t}={n}" for t, n in TOKENS.items()),
        "CHANALYTICS_NATS_URL": nats_url, "CHANALYTICS_INGEST_FLUSH_INTERVAL_MS": "100",
        "CHANALYTICS_INGEST_BATCH_SIZE": str(batch_size)})
    ingest = IngestService(settings, storage, Metrics(), nats_url)
    await ingest.start()
    assert ingest.js is not None
    hub = LiveHub(ingest.js, per_tenant=per_tenant, tail_events=tail_events)
    await hub.start()
    app = create_app(settings, storage=storage, versions=ingest.versions,
                     live=LiveServices(hub, Tickets(ingest.js), keepalive=keepalive))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as client:
            yield LiveRig(settings, storage, nats_url, f"http://127.0.0.1:{port}", app,
                          ingest, hub, client)
    finally:
        server.should_exit = True
        await serving
        await hub.stop()
        await ingest.stop()
