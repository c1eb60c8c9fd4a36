"""Webhook delivery: `POST` the payload, signed, retried, every try recorded.

Headers: `Chanalytics-Event` (what happened), `Chanalytics-Delivery` (the caller's
unique id: the receiver de-duplicates on it, and it is the same on every retry) and,
when the target has a secret, `Chanalytics-Signature: sha256=<hex HMAC-SHA256(secret,
body)>`. Any non-2xx answer, a connection error or no answer within the policy's
timeout (10 s) is tried again (`attempts.py`).

Requests go through httpcore with `GuardedBackend` (`safety.py`), so every connection,
each redirect hop's included, goes to a checked address. Redirects are never followed
by the client: `307`/`308` (which keep the method and body, RFC 9110 §15.4) are
followed here, hop by hop, up to `MAX_REDIRECTS`, never from https down to http; any
other 3xx would turn the POST into a GET and lose the payload, so it counts as a failed
try like any non-2xx.
A body is bytes, or a `FileBody`: a file (a report's) signed and sent in pieces read
from disk, so a large body is never held in memory.
Environment proxies are not used (httpcore reads none): a proxy would connect to an
address the guard never saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpcore

from chanalytics.deliveries.attempts import (
    DeliveryOutcome,
    RetryPolicy,
    Sleep,
    TryAnswer,
    deliver_with_retries,
)
from chanalytics.deliveries.safety import AddressPolicy, GuardedBackend, UnsafeTarget
from chanalytics.deliveries.targets import Event, WebhookTarget

MAX_REDIRECTS = 5
FOLLOWED = (307, 308)
USER_AGENT = "chanalytics-webhook/1"


def signature(secret: str, body: bytes) -> str:
    """The `Chanalytics-Signature` value of `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


PIECE = 1 << 16  # bytes of a file body read and sent at once


class FileBody:
    """A body sent from a file: its length and signature read from the file, its bytes
    streamed from it on each try (and each redirect hop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def signature(self, secret: str) -> str:
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        with self.path.open("rb") as source:
            for piece in iter(lambda: source.read(PIECE), b""):
                mac.update(piece)
        return "sha256=" + mac.hexdigest()

    async def pieces(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as source:
            while piece := await asyncio.to_thread(source.read, PIECE):
                yield piece


class WebhookSender:
    """Sends webhook deliveries under one address policy (the allow-list)."""

    def __init__(self, policy: AddressPolicy, retry: RetryPolicy | None = None, *,
                 sleep: Sleep = asyncio.sleep, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        self.policy = policy
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.ssl_context = ssl_context  # None: the system's CAs (tests pass their own)

    async def deliver(self, target: WebhookTarget, event: Event, delivery_id: str,
                      body: bytes | FileBody, content_type: str = "application/json",
                      extra_headers: Sequence[tuple[str, str]] = ()) -> DeliveryOutcome:
        """Deliver `body` to `target`, retrying as the policy says; every try recorded."""
        headers = [("Content-Type", content_type), ("User-Agent", USER_AGENT),
                   ("Chanalytics-Event", event), ("Chanalytics-Delivery", delivery_id),
                   *extra_headers]
        if isinstance(body, FileBody):
            headers.append(("Content-Length", str(body.size)))
        if target.secret:
            headers.append(("Chanalytics-Signature",
                            await asyncio.to_thread(body.signature, target.secret)
                            if isinstance(body, FileBody) else signature(target.secret, body)))

        async def attempt() -> TryAnswer:
            return await self._try(target.url, headers, body)

        return await deliver_with_retries("webhook", delivery_id, attempt, self.retry,
                                          self.sleep, target=target.origin)

    async def _try(self, url: str, headers: list[tuple[str, str]],
                   body: bytes | FileBody) -> TryAnswer:
        """One try: POST, then follow 307/308 hop by hop, each connection guarded."""
        backend = GuardedBackend(self.policy)
        timeout = {k: self.retry.timeout for k in ("connect", "read", "write", "pool")}
        pool = httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context, network_backend=backend, retries=0,
            max_connections=1, keepalive_expiry=0)
        try:
            async with pool:
                for _hop in range(MAX_REDIRECTS + 1):
                    content = body.pieces() if isinstance(body, FileBody) else body
                    async with pool.stream("POST", url, headers=headers, content=content,
                                           extensions={"timeout": timeout}) as response:
                        status = response.status
                        location = _header(response.headers, b"location")
                    address = backend.connected[-1] if backend.connected else None
                    if 200 <= status < 300:
                        return TryAnswer(result="delivered", status=status, address=address)
                    if status not in FOLLOWED or location is None:
                        return TryAnswer(result="failed", status=status, address=address,
                                         error=f"HTTP {status}")
                    was_https = urlsplit(url).scheme == "https"
                    url = urljoin(url, location)
                    parts = urlsplit(url)
                    if parts.scheme not in ("http", "https") or parts.username is not None:
                        return TryAnswer(result="refused", status=status, address=address,
                                         error="redirected to a URL that is not a plain "
                                               "http(s) URL")
                    if was_https and parts.scheme == "http":  # the payload would go in clear
                        return TryAnswer(result="refused", status=status, address=address,
                                         error="redirected from https to http")
                return TryAnswer(result="failed", error=f"more than {MAX_REDIRECTS} redirects")
        except UnsafeTarget as exc:
            return TryAnswer(result="refused", error=exc.message)
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                httpcore.UnsupportedProtocol, ssl.SSLError) as exc:
            address = backend.connected[-1] if backend.connected else None
            return TryAnswer(result="failed", address=address,
                             error=f"{type(exc).__name__}: {exc}" if str(exc)
                             else type(exc).__name__)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
