"""NATS key-value buckets the service keeps state in (tenant versions, live tickets)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError, BucketNotFoundError
from nats.js.kv import KeyValue


async def kv_bucket(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    """The bucket `config.bucket`, created with `config` when missing (by whichever of
    several processes starting at once comes first). Reads of a bucket
    made here go to the stream's leader (`direct` off unless asked): a read after a write
    sees it."""
    try:
        return await js.key_value(config.bucket)
    except BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(config)
    except BadRequestError:  # another process created it a moment before: use that one
        return await js.key_value(config.bucket)
