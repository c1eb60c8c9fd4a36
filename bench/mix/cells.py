"""The cells: the dashboard mix by three windows, timed before/after, alternating.

Each cell is one endpoint over one window: 30 local days ending the day before the data
ends, as UTC dates and as Asia/Kolkata dates, and an unaligned RFC 3339 window over the
same days. One round asks every cell once from each version, the version asked first
alternating from cell to cell and round to round, so both see the same machine at the
same moments; the answers of a pair are compared (timing fields ignored).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from bench.query.timing import Timing

ENDPOINTS = ("overview", "messages", "campaigns", "workflows", "sequences", "templates",
             "traffic", "channels", "deliverability", "costs")
# Keys an answer may carry that say how it was made, not what it says.
IGNORED_KEYS = frozenset({"durationMs", "tookMs", "elapsedMs", "queryMs", "cached",
                          "generatedAt", "servedAt"})


@dataclass(frozen=True)
class Window:
    name: str
    params: dict[str, str]


@dataclass(frozen=True)
class Cell:
    endpoint: str
    window: Window

    @property
    def name(self) -> str:
        return f"{self.endpoint} · {self.window.name}"


def window_days(end: datetime) -> tuple[datetime, datetime]:
    """The first and last of the 30 days the windows cover (midnight UTC)."""
    last = (end - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return last - timedelta(days=29), last


def windows(end: datetime) -> list[Window]:
    first, last = (d.date().isoformat() for d in window_days(end))
    dates = {"startDate": first, "endDate": last}
    return [Window("30d UTC dates", {**dates, "timezone": "UTC"}),
            Window("30d Kolkata dates", {**dates, "timezone": "Asia/Kolkata"}),
            Window("30d rfc3339", {"startDate": f"{first}T07:07:13.250Z",
                                   "endDate": f"{last}T19:52:41.500Z", "timezone": "UTC"})]


def common_span(end: datetime) -> tuple[datetime, datetime]:
    """[start, end) inside all three windows: where a trickled event counts in every cell."""
    first, last = window_days(end)
    return (first + timedelta(hours=7, minutes=7, seconds=14),
            last + timedelta(hours=18, minutes=30))  # the Kolkata day ends 18:30 UTC


def all_cells(end: datetime, endpoints: tuple[str, ...] = ENDPOINTS) -> list[Cell]:
    return [Cell(e, w) for w in windows(end) for e in endpoints]


def stripped(value: Any) -> Any:
    """The answer without `IGNORED_KEYS`, at any depth."""
    if isinstance(value, dict):
        return {k: stripped(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [stripped(v) for v in value]
    return value


def difference(a: Any, b: Any, path: str = "$") -> str:
    """Where two answers first differ ('' when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'after' if key in b else 'before'}"
            if found := difference(a[key], b[key], f"{path}.{key}"):
                return found
        return ""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items before, {len(b)} after"
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True))
                     if (d := difference(x, y, f"{path}[{i}]"))), "")
    return "" if a == b else f"{path}: {str(a)[:60]} before, {str(b)[:60]} after"


class Clients:
    """A keep-alive HTTP client per version, with the tenant's bearer token."""

    def __init__(self, ports: dict[str, int], token: str) -> None:
        self.http = {name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1/analytics",
                                             headers={"Authorization": f"Bearer {token}"},
                                             timeout=120)
                     for name, port in ports.items()}

    async def get(self, version: str, cell: Cell) -> tuple[float, Any]:
        """One request: milliseconds and the stripped JSON answer."""
        started = time.perf_counter()
        try:
            response = await self.http[version].get(f"/{cell.endpoint}",
                                                    params=cell.window.params)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # the server closed an idle keep-alive connection as the request went out
            started = time.perf_counter()
            response = await self.http[version].get(f"/{cell.endpoint}",
                                                    params=cell.window.params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{version} {cell.name}: {response.status_code} "
                               f"{response.text[:300]}")
        return elapsed, stripped(response.json())

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()


@dataclass
class CellResult:
    cell: Cell
    timings: dict[str, Timing] = field(default_factory=lambda: {"before": Timing(),
                                                                "after": Timing()})
    compared: int = 0
    mismatches: int = 0
    first_diff: str = ""

    @property
    def speedup(self) -> float:
        """Before's median over after's: above 1, after is faster."""
        return self.timings["before"].p50 / self.timings["after"].p50


async def time_cells(clients: Clients, cells: list[Cell], reps: int, warmups: int,
                     compare: bool, progress: Callable[[int], None] = lambda _: None,
                     ) -> list[CellResult]:
    """`warmups` untimed rounds, then `reps` timed rounds over every cell."""
    results = [CellResult(cell) for cell in cells]
    for round_no in range(warmups + reps):
        for i, result in enumerate(results):
            order = ("before", "after") if (round_no + i) % 2 == 0 else ("after", "before")
            answers = {}
            for version in order:
                ms, answers[version] = await clients.get(version, result.cell)
                if round_no >= warmups:
                    result.timings[version].samples.append(ms)
            if compare:
                result.compared += 1
                if diff := difference(answers["before"], answers["after"]):
                    result.mismatches += 1
                    result.first_diff = result.first_diff or diff
        progress(round_no + 1 - warmups)
    return results


async def compare_once(clients: Clients, results: list[CellResult]) -> None:
    """Ask every cell once more from both versions and compare (after a trickle stops)."""
    for result in results:
        _, before = await clients.get("before", result.cell)
        _, after = await clients.get("after", result.cell)
        result.compared += 1
        if diff := difference(before, after):
            result.mismatches += 1
            result.first_diff = result.first_diff or diff
