"""Taking the KV lease when the key changes under the request."""

from __future__ import annotations

from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from chanalytics.coordination.lease import KvLease


class RacingBucket:
    """A bucket whose key is taken, then expires between nats-py's two looks at it."""

    def __init__(self) -> None:
        self.failures: list[Exception] = [KeyWrongLastSequenceError(),
                                          KeyNotFoundError()]

    async def create(self, key: str, value: bytes) -> int:
        if self.failures:
            raise self.failures.pop(0)
        return 7

    async def delete(self, key: str, last: int) -> None:
        self.deleted = (key, last)


class TestAcquire:
    async def test_a_key_that_expires_mid_create_is_taken_on_the_next_try(self) -> None:
        """nats-py's `create` answers "key not found" when the key it found taken expired
        before it could read it: the lease tries again instead of failing the writer."""
        lease = KvLease(js=None, bucket="b", ttl=5.0)
        bucket: Any = RacingBucket()
        lease._kv = bucket
        async with lease:
            assert lease._revision == 7
        assert bucket.failures == []
        assert bucket.deleted == ("ingest-insert", 7)
