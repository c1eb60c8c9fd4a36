"""Requests per second of the mix at a concurrency (16, as `bench/load_bench.py`).

`concurrency` workers on keep-alive connections ask the cells in turn (each worker from
its own place in the list) for a slice of time; the slices alternate between the two
versions (before, after, after, before, …), so both share the machine's moments. The
client is Python (httpx) on the same cores: both versions pay its cost.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from bench.mix.cells import Cell
from bench.query.timing import Timing


@dataclass
class Rate:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latency: Timing = field(default_factory=Timing)
    first_error: str = ""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def get(client: httpx.AsyncClient, cell: Cell) -> httpx.Response:
    """GET the cell; once more if the server closed an idle keep-alive connection as the
    request went out (uvicorn closes them after 5 s: a slice of the other version)."""
    try:
        return await client.get(f"/{cell.endpoint}", params=cell.window.params)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        return await client.get(f"/{cell.endpoint}", params=cell.window.params)


async def _slice(client: httpx.AsyncClient, cells: list[Cell], seconds: float,
                 concurrency: int, rate: Rate) -> None:
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline:
            cell = cells[i % len(cells)]
            i += 1
            t0 = time.perf_counter()
            try:
                response = await get(client, cell)
                error = "" if response.status_code == 200 else (
                    f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                error = repr(exc)
            if not error:
                rate.requests += 1
                rate.latency.samples.append((time.perf_counter() - t0) * 1000)
            else:
                rate.errors += 1
                rate.first_error = rate.first_error or f"{cell.name}: {error}"

    started = time.perf_counter()
    await asyncio.gather(*(worker(w * len(cells) // concurrency) for w in range(concurrency)))
    rate.seconds += time.perf_counter() - started


async def measure(ports: dict[str, int], token: str, cells: list[Cell], seconds: float,
                  concurrency: int = 16, slices: int = 4) -> dict[str, Rate]:
    """`seconds` per version in `slices` alternating slices; the rate of each version."""
    rates = {name: Rate() for name in ports}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = {name: httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/api/v1/analytics", limits=limits, timeout=60,
        headers={"Authorization": f"Bearer {token}"}) for name, port in ports.items()}
    try:
        for _, client in clients.items():  # open the connections before timing
            await asyncio.gather(*(client.get(f"/{c.endpoint}", params=c.window.params)
                                   for c in cells[:concurrency]))
        for n in range(slices):
            order = ["before", "after"] if n % 2 == 0 else ["after", "before"]
            for name in order:
                await _slice(clients[name], cells, seconds / slices, concurrency, rates[name])
    finally:
        for client in clients.values():
            await client.aclose()
    return rates
