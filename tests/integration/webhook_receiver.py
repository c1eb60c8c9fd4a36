"""A real HTTP receiver on loopback for webhook tests: records every request, and can
fail the first N, redirect, or answer slowly. A stdlib server in a thread (aiohttp is
not a dependency), optionally behind TLS."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the receiver answers: `fail_first` tries with `fail_status`, then 204; or a
    redirect (`redirect_to`, `redirect_status`) on the first request; `delay` before
    each answer."""

    fail_first: int = 0
    fail_status: int = 500
    redirect_to: str | None = None
    redirect_status: int = 307
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        script = self.server.script
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        script.received.append(Received(self.command, self.path,
                                        {k.lower(): v for k, v in self.headers.items()}, body))
        time.sleep(script.delay)
        count = len(script.received)
        if script.redirect_to and count == 1:
            self.send_response(script.redirect_status)
            self.send_header("Location", script.redirect_to)
        elif count <= script.fail_first:
            self.send_response(script.fail_status)
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@contextmanager
def receiver(script: Script | None = None, tls: ssl.SSLContext | None = None,
             host: str = "127.0.0.1") -> Iterator[tuple[int, Script]]:
    """Serve on `host`, a free port; yields (port, script) and stops on exit."""
    server = _Server((host, 0), _Handler)
    server.script = script or Script()
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), server.script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def localhost_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for the name `localhost` only, no IP."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key
