"""`chanalytics publish SUBJECT JSON`: send one event to JetStream, as a platform would.

For trying the service by hand: `id` (a fresh UUID) and `timestamp` (now) are filled in
when the envelope leaves them out; everything else is sent as given, so an invalid event
lands in the dead-letter stream with its reason, as any other would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats

from chanalytics.connections import nats_servers


def complete(envelope: dict[str, Any], now: datetime) -> dict[str, Any]:
    stamp = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": str(uuid.uuid4()), "timestamp": stamp, **envelope}


async def _quiet(_: Exception) -> None:
    """nats-py logs each error with a traceback; the caller reports the one that matters."""


async def publish_one(nats_url: str, subject: str, text: str,
                      options: dict[str, Any] | None = None) -> str:
    """Publish; returns a line saying where it went. Raises ValueError on bad JSON."""
    try:
        envelope = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(f"the event is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise ValueError("the event must be a JSON object (the envelope of EVENTS.md)")
    envelope = complete(envelope, datetime.now(UTC))
    # Without a bound on attempts nats-py keeps trying a refusing server for two minutes
    # (60 attempts, 2 s apart) even with allow_reconnect=False: a server that is down
    # must be a prompt refusal, not a hang.
    client = await nats.connect(nats_servers(nats_url), connect_timeout=5, allow_reconnect=False,
                                max_reconnect_attempts=1, reconnect_time_wait=0.25,
                                error_cb=_quiet, **(options or {}))
    try:
        ack = await client.jetstream().publish(
            subject, msgspec.json.encode(envelope), headers={"Nats-Msg-Id": str(envelope["id"])})
    finally:
        await client.close()
    return f"published {envelope['id']} to {ack.stream} #{ack.seq}"
