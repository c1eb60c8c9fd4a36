"""uvicorn as chanalytics runs it: logs through ours, and a request it cannot parse
answered in the JSON error envelope, not uvicorn's plain-text 400.

uvicorn parses HTTP with h11 (httptools is not installed, and the protocol is pinned
so that installing it changes nothing). h11 refuses a request line and headers longer
than its buffer, and malformed ones, before the app sees them; `EnvelopeH11Protocol`
words that answer like every other 400.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import h11
import msgspec
import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from chanalytics.api.errors import error_envelope
from chanalytics.api.limits import URL_LIMIT

log = structlog.get_logger(__name__)

# The request line and headers h11 buffers: the app's URL limit plus room for headers,
# so a URL the app would serve is never cut off by the parser.
HEAD_LIMIT = URL_LIMIT + 16 * 1024
_UVICORN_400 = "Invalid HTTP request received."


class EnvelopeH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this inside its `except h11.RemoteProtocolError`, and passes only
        # a fixed text: the exception itself says why.
        exc = sys.exc_info()[1]
        if isinstance(exc, h11.RemoteProtocolError) and exc.error_status_hint == 431:
            code, message = "request_too_large", (
                f"the request line and headers are longer than {HEAD_LIMIT} bytes (a URL "
                f"may have up to {URL_LIMIT})")
        else:
            code, message = "bad_request", f"malformed HTTP request: {exc or msg}"[:300]
        client = getattr(self, "client", None)  # set once the connection is made
        log.info("api.request.rejected", status=400, code=code, error=message,
                 client=client[0] if client else None)
        body = msgspec.json.encode(error_envelope(code, message))
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


class _WithoutUvicorns400Line(logging.Filter):
    """uvicorn's own line for such a request says nothing of why; ours does."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _UVICORN_400


_FILTER = _WithoutUvicorns400Line()


def server_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """A uvicorn config for `app`: our protocol and logging (`log_config=None` keeps
    uvicorn from giving its loggers plain-text handlers; `configure_logging` renders
    their records), no access log (`api.request.*` is ours)."""
    error_log = logging.getLogger("uvicorn.error")
    if _FILTER not in error_log.filters:
        error_log.addFilter(_FILTER)
    return uvicorn.Config(app, host=host, port=port, http=EnvelopeH11Protocol,
                          h11_max_incomplete_event_size=HEAD_LIMIT, log_config=None,
                          log_level="warning", access_log=False, **options)
