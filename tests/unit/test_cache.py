"""The answer cache keeps a read while its tenant's version stands, and never past a change."""

from __future__ import annotations

import asyncio

import pytest

from chanalytics.query.cache import AnswerCache, one_request
from chanalytics.versions import LocalVersions, kv_key


class Reads:
    """A read that counts how often it ran and answers its count."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> list[int]:
        self.calls += 1
        await asyncio.sleep(0)
        return [self.calls]


async def test_a_read_is_kept_until_its_tenant_changes() -> None:
    versions = LocalVersions()
    cache, read = AnswerCache(versions), Reads()
    assert await cache.read("t1", "k", read, rows=len) == [1]
    assert await cache.read("t1", "k", read, rows=len) == [1]
    await versions.writing(["t2"])
    await versions.stored(["t2"])  # another tenant's change
    assert await cache.read("t1", "k", read, rows=len) == [1]
    await versions.writing(["t1"])
    await versions.stored(["t1"])
    assert await cache.read("t1", "k", read, rows=len) == [2]
    assert (cache.hits, cache.misses) == (2, 2)


async def test_nothing_is_kept_or_reused_while_a_change_is_written() -> None:
    versions = LocalVersions()
    cache, read = AnswerCache(versions), Reads()
    await cache.read("t1", "k", read, rows=len)
    await versions.writing(["t1"])
    assert await cache.read("t1", "k", read, rows=len) == [2]
    assert await cache.read("t1", "k", read, rows=len) == [3]
    await versions.writing(["t1"])  # two writers at once: in flight until both stored
    await versions.stored(["t1"])
    assert await cache.read("t1", "k", read, rows=len) == [4]
    await versions.stored(["t1"])
    assert await cache.read("t1", "k", read, rows=len) == [5]
    assert await cache.read("t1", "k", read, rows=len) == [5]


async def test_identical_reads_at_once_share_one() -> None:
    cache, read = AnswerCache(LocalVersions()), Reads()
    answers = await asyncio.gather(*(cache.read("t1", "k", read, rows=len) for _ in range(5)))
    assert answers == [[1]] * 5 and read.calls == 1


async def test_a_failed_read_is_not_kept_and_its_waiters_see_the_error() -> None:
    cache = AnswerCache(LocalVersions())

    async def failing() -> list[int]:
        await asyncio.sleep(0)
        raise RuntimeError("storage away")

    results = await asyncio.gather(*(cache.read("t1", "k", failing, rows=len)
                                     for _ in range(2)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await cache.read("t1", "k", Reads(), rows=len) == [1]


async def test_a_cancelled_read_leaves_its_waiters_to_read_themselves() -> None:
    cache, started = AnswerCache(LocalVersions()), asyncio.Event()

    async def slow() -> list[int]:
        started.set()
        await asyncio.sleep(10)
        return [0]

    first = asyncio.create_task(cache.read("t1", "k", slow, rows=len))
    await started.wait()
    second = asyncio.create_task(cache.read("t1", "k", Reads(), rows=len))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == [1]


async def test_large_reads_are_not_kept_and_the_oldest_go_first() -> None:
    cache, read = AnswerCache(LocalVersions(), max_entries=2, max_rows=1), Reads()

    async def large() -> list[int]:
        return [1, 2]

    await cache.read("t1", "large", large, rows=len)
    await cache.read("t1", "a", read, rows=len)
    await cache.read("t1", "b", read, rows=len)
    await cache.read("t1", "a", read, rows=len)  # a is now the newest
    await cache.read("t1", "c", read, rows=len)  # b goes
    assert await cache.read("t1", "a", read, rows=len) == [1]
    assert await cache.read("t1", "b", read, rows=len) == [4]


def test_kv_keys_are_valid_and_distinct() -> None:
    assert kv_key("tenant_demo") == "t.tenant_demo"
    assert kv_key("a.b") == "h." + b"a.b".hex()
    assert kv_key("tenant ü") != kv_key("tenant u")


class CountingVersions(LocalVersions):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def current(self, tenant_id: str) -> int | None:
        self.asked += 1
        return await super().current(tenant_id)


async def test_one_request_asks_the_versions_once() -> None:
    """Its reads all come after the request began, so the first answer serves them all."""
    versions = CountingVersions()
    cache = AnswerCache(versions)
    with one_request():
        await asyncio.gather(cache.read("t1", "a", Reads(), rows=len),
                             cache.read("t1", "b", Reads(), rows=len))
    assert versions.asked == 1
    await cache.read("t1", "a", Reads(), rows=len)
    await cache.read("t1", "b", Reads(), rows=len)
    assert versions.asked == 3  # outside a request, each read asks
