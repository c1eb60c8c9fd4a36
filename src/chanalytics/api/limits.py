"""The longest URL the API reads, refused in the error envelope above it.

Whether an over-long request line reaches the app at all depends on how TCP cut it up
(the HTTP parser's buffer limit applies only while a request is incomplete), so without
a limit of our own a 100 KB URL was served on loopback and refused in plain text over
a network. Here any URL over `URL_LIMIT` bytes gets the same answer, whichever way it
arrived; `chanalytics.api.httpserver` sizes the parser's buffer above it.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from chanalytics.api.errors import error_envelope

URL_LIMIT = 64 * 1024  # bytes of path and query string, as sent (percent-encoded)


def url_length(scope: Scope) -> int:
    # uvicorn's raw_path is the path alone; some clients' (httpx's test transport) carry
    # the query too, which the query_string already counts.
    raw_path: bytes = (scope.get("raw_path") or scope["path"].encode()).partition(b"?")[0]
    query: bytes = scope.get("query_string", b"")
    return len(raw_path) + (1 + len(query) if query else 0)


def too_long_url_body() -> bytes:
    return msgspec.json.encode(error_envelope(
        "url_too_long", f"the request URL is longer than {URL_LIMIT} bytes; send fewer "
        "or shorter parameters"))


def url_limit(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or url_length(scope) <= URL_LIMIT:
            await app(scope, receive, send)
            return
        body = too_long_url_body()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return middleware
