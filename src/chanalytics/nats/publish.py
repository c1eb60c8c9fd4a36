"""`chanalytics publish SUBJECT JSON`: send one event to JetStream, as a platform would.

For trying the service by hand: `id` (a fresh UUID) and `timestamp` (now) are filled in
when the envelope leaves them out. The event is first checked by ingest's own decoder
(`map_event`), so an event ingest would dead-letter is refused here with the same reason;
`allow_invalid` sends it anyway, to try the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import structlog
from nats import errors
from nats.js import errors as js_errors

from chanalytics.connections import nats_servers
from chanalytics.ingest.streams import SOURCE_SUBJECTS
from chanalytics.mappers import InvalidEvent, map_event
from chanalytics.mappers.errors import UNKNOWN_SUBJECT

log = structlog.get_logger(__name__)

# nats-py retries a server that refuses inside `connect` itself, whatever `allow_reconnect`
# says: `max_reconnect_attempts` (60) times `reconnect_time_wait` (2 s) made a closed port
# take 121 s. One retry after a quarter second, a 2 s timeout per attempt (its default).
FAIL_FAST: dict[str, Any] = {
    "allow_reconnect": False, "max_reconnect_attempts": 1, "reconnect_time_wait": 0.25,
    "connect_timeout": 2,
}
CONFIRM_TIMEOUT_S = 5.0  # JetStream's store-and-acknowledge of one message


class PublishError(Exception):
    """Why nothing was published, as a sentence; `status` is the command's exit code
    (2: the input is wrong, 1: the NATS side is)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def complete(envelope: dict[str, Any], now: datetime) -> dict[str, Any]:
    stamp = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": str(uuid.uuid4()), "timestamp": stamp, **envelope}


def prepare(subject: str, text: str, now: datetime, *,
            allow_invalid: bool = False) -> tuple[bytes, str | None, InvalidEvent | None]:
    """The payload to send, its id, and why ingest will dead-letter it (None: it will
    not). Raises `PublishError` for an invalid event unless `allow_invalid`."""
    try:
        envelope = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        if not allow_invalid:
            raise PublishError(f"the event is not JSON: {exc}", 2) from None
        envelope = None
    if not isinstance(envelope, dict):
        if not allow_invalid:
            raise PublishError("the event must be a JSON object (the envelope of "
                               "docs/events.md)", 2)
        payload = text.encode()  # as typed, to see how ingest dead-letters it
        return payload, None, _invalid(subject, payload)
    envelope = complete(envelope, now)
    payload = msgspec.json.encode(envelope)
    invalid = _invalid(subject, payload)
    if invalid is not None and not allow_invalid:
        if invalid.code == UNKNOWN_SUBJECT:
            raise PublishError(_no_stream(subject), 2)
        raise PublishError(
            f"the event is invalid ({invalid.code}): {invalid.message}. Nothing was sent; "
            "ingest would dead-letter it (--allow-invalid sends it anyway, to try that)", 2)
    return payload, str(envelope["id"]), invalid


def _invalid(subject: str, payload: bytes) -> InvalidEvent | None:
    """Ingest's verdict on the event: the very decoder and mappers it runs."""
    try:
        map_event(subject, payload)
    except InvalidEvent as exc:
        return exc
    return None


def _no_stream(subject: str) -> str:
    subjects = ", ".join(SOURCE_SUBJECTS)
    return f"no stream takes subject {subject!r}; the accepted subjects are: {subjects}"


def _quiet_dropped_connection(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A server that refuses the credentials closes the connection while nats-py's reader
    still waits: asyncio would print that reader's "exception was never retrieved" with a
    traceback after the clear message already given. Anything else is reported as usual."""
    if isinstance(context.get("exception"), ConnectionError):
        log.debug("nats.connection.dropped", error=repr(context["exception"]))
        return
    loop.default_exception_handler(context)


async def publish_one(nats_url: str, subject: str, text: str,
                      options: dict[str, Any] | None = None, *,
                      allow_invalid: bool = False) -> str:
    """Publish; returns a line saying where it went. Raises `PublishError` saying why not."""
    payload, event_id, invalid = prepare(subject, text, datetime.now(UTC),
                                         allow_invalid=allow_invalid)
    seen: list[Exception] = []

    async def note(exc: Exception) -> None:
        """Instead of nats-py's traceback per attempt: the last error names the cause
        (its final `NoServersError` does not)."""
        seen.append(exc)

    asyncio.get_running_loop().set_exception_handler(_quiet_dropped_connection)
    try:
        client = await nats.connect(nats_servers(nats_url), error_cb=note,
                                    **(FAIL_FAST | (options or {})))
    except (errors.NoServersError, OSError, TimeoutError) as exc:
        raise PublishError(
            f"no NATS server answers at {nats_url} ({_said(seen[-1] if seen else exc)}): "
            "is `chanalytics run` running? Its banner shows the NATS URL; pass it with "
            "--nats or set CHANALYTICS_NATS_URL", 1) from None
    except Exception as exc:  # refused credentials, TLS, a protocol error
        raise PublishError(f"could not publish to {nats_url}: {_said(exc)}", 1) from None
    try:
        headers = {"Nats-Msg-Id": event_id} if event_id else None
        ack = await client.jetstream(timeout=CONFIRM_TIMEOUT_S).publish(
            subject, payload, headers=headers)
    except js_errors.NoStreamResponseError:
        if subject in SOURCE_SUBJECTS:
            raise PublishError(
                f"no stream at {nats_url} takes subject {subject!r} yet: `chanalytics "
                "ingest` (or `run`) creates the source stream when it first starts", 1) from None
        raise PublishError(_no_stream(subject), 1) from None
    except errors.TimeoutError:
        raise PublishError(f"NATS at {nats_url} did not confirm the event within "
                           f"{CONFIRM_TIMEOUT_S:g} s; it may or may not be stored", 1) from None
    except Exception as exc:
        raise PublishError(f"could not publish to {nats_url}: {_said(exc)}", 1) from None
    finally:
        await client.close()
    where = f"published {event_id or 'the payload as given'} to {ack.stream} #{ack.seq}"
    if invalid is not None:
        where += f" (invalid, {invalid.code}: ingest will dead-letter it)"
    return where


def _said(exc: BaseException) -> str:
    """An exception as a phrase: nats-py's own text ("nats: ...") or the class name."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no answer within {FAIL_FAST['connect_timeout']} s"
    return str(exc) or type(exc).__name__
