"""Loopback ports: is one free to listen on (asked before anything starts, so a taken
port gets a clear message instead of a crash after "running")."""

from __future__ import annotations

import socket


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (the OS's words), or None when it can."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
