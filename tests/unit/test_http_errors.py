"""Requests refused before or around the handlers: the JSON error envelope, and a log
line with the status and the code the client read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar, Request, get
from structlog.testing import capture_logs

from chanalytics.api.errors import EXCEPTION_HANDLERS
from chanalytics.api.httpserver import HEAD_LIMIT, server_config
from chanalytics.api.limits import URL_LIMIT, url_limit
from chanalytics.api.services import Services
from chanalytics.api.timing import request_timing
from chanalytics.metrics import ApiMetrics
from chanalytics.nats.server import free_port
from chanalytics.query.errors import BadParameter


@get("/api/v1/analytics/overview", sync_to_thread=False)
def overview(request: Request[Any, Any, Any]) -> dict[str, str]:
    channel = request.query_params.get("channel", "email")
    if channel not in ("email", "sms"):
        raise BadParameter("invalid_channel", "channel must be one of email|sms", "channel")
    return {"channel": channel}


def small_app() -> Litestar:
    """The API's middleware and error handlers around one handler (no storage needed)."""
    app = Litestar([overview], exception_handlers=EXCEPTION_HANDLERS,
                   middleware=[request_timing, url_limit], openapi_config=None)
    app.state.services = Services(metrics=ApiMetrics(), clock=lambda: datetime.now(UTC))
    return app


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """uvicorn configured as the CLI runs it, on a free loopback port."""
    import uvicorn

    server = uvicorn.Server(server_config(small_app(), "127.0.0.1", free_port()))
    serving = asyncio.create_task(server.serve())
    for _ in range(1000):  # up to 10 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield server.config.port
    server.should_exit = True
    await serving


async def exchange(port: int, request: bytes, pause: float = 0.0) -> tuple[int, dict[str, Any]]:
    """Send `request` in network-sized pieces (`pause` between them, so the server reads
    them one by one); the status and JSON body of the answer."""
    answer = await asyncio.to_thread(_exchange, port, request, pause)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), answer[:300]
    return int(head.split()[1]), json.loads(body)


def _exchange(port: int, request: bytes, pause: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for i in range(0, len(request), 1400):
                sock.sendall(request[i:i + 1400])
                time.sleep(pause)
        except ConnectionError:
            pass  # the server answered and closed before reading everything
        answer = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def get_line(target: bytes) -> bytes:
    return (b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


class TestLongUrls:
    async def test_a_url_over_the_limit_is_an_envelope_400(self, port: int) -> None:
        """A 100 KB URL is refused in the envelope, whether the server read it whole (the
        app refuses it) or in pieces (the HTTP parser does); a URL under the limit is
        served."""
        long = get_line(b"/api/v1/analytics/overview?channel=" + b"x" * 100_000)
        for pause in (0.0, 0.001):
            status, body = await exchange(port, long, pause)
            assert status == 400 and body["success"] is False
            assert body["error"]["code"] in ("url_too_long", "request_too_large")
        fits = get_line(b"/api/v1/analytics/overview?channel=sms&pad=" + b"x" * 60_000)
        assert await exchange(port, fits, pause=0.001) == (200, {"channel": "sms"})

    async def test_the_parser_refuses_a_head_over_its_buffer(self, port: int) -> None:
        """A request line that never ends within the parser's buffer is refused by the
        parser, in the envelope, naming its limit."""
        endless = b"GET /api/v1/analytics/overview?channel=" + b"x" * (HEAD_LIMIT + 1000)
        status, body = await exchange(port, endless)
        assert status == 400 and body["error"]["code"] == "request_too_large"
        assert str(HEAD_LIMIT) in body["error"]["message"]

    async def test_the_app_refuses_what_the_parser_let_through(self, port: int) -> None:
        """Just over the app's limit but within the parser's buffer: the app's own 400."""
        target = b"/api/v1/analytics/overview?pad=" + b"x" * URL_LIMIT
        status, body = await exchange(port, get_line(target), pause=0.001)
        assert status == 400
        assert body["error"] == {"code": "url_too_long", "message": (
            f"the request URL is longer than {URL_LIMIT} bytes; send fewer or shorter "
            "parameters")}

    async def test_a_malformed_request_is_an_envelope_400(self, port: int) -> None:
        """A request line h11 cannot parse gets the envelope, and a log line saying why."""
        with capture_logs() as logs:
            status, body = await exchange(port, get_line(b"/api/v1/analytics/a b"))
        assert status == 400 and body["error"]["code"] == "bad_request"
        [line] = [e for e in logs if e["event"] == "api.request.rejected"]
        assert line["status"] == 400 and line["code"] == "bad_request"


class TestRequestLog:
    async def test_a_400_is_logged_with_its_code_and_field(self, port: int) -> None:
        """A handler's 400 is logged as rejected with the status, code and field."""
        with capture_logs() as logs:
            status, _ = await exchange(port, get_line(b"/api/v1/analytics/overview?channel=fax"))
        assert status == 400
        [line] = [e for e in logs if e["event"] == "api.request.rejected"]
        assert line["status"] == 400 and line["log_level"] == "info"
        assert line["code"] == "invalid_channel" and line["field"] == "channel"
        assert line["endpoint"] == "overview"
