"""Errors raised while reading and answering dashboard queries."""

from __future__ import annotations


class QueryError(Exception):
    """Base of every error the query layer raises on purpose."""


MAX_MESSAGE = 200  # an error quotes the caller's input; never echo kilobytes of it back


class BadParameter(QueryError):
    """A query parameter the caller sent is invalid; the API answers 400."""

    def __init__(self, code: str, message: str, field: str) -> None:
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"BadParameter(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class NotFound(QueryError):
    """What the request names (a campaign) is unknown to the tenant; the API answers 404."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
