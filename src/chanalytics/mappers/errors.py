"""The one error a mapper raises: the event is invalid and goes to the dead-letter stream."""

from __future__ import annotations

from typing import Final

EMPTY_PAYLOAD: Final = "empty-payload"
INVALID_JSON: Final = "invalid-json"
UNKNOWN_SUBJECT: Final = "unknown-subject"
INVALID_ENVELOPE: Final = "invalid-envelope"
INVALID_TIMESTAMP: Final = "invalid-timestamp"
TYPE_MISMATCH: Final = "type-mismatch"
INVALID_DATA: Final = "invalid-data"

REASON_CODES: Final = (
    EMPTY_PAYLOAD,
    INVALID_JSON,
    UNKNOWN_SUBJECT,
    INVALID_ENVELOPE,
    INVALID_TIMESTAMP,
    TYPE_MISMATCH,
    INVALID_DATA,
)


class InvalidEvent(Exception):
    """An event that can never be stored: dead-letter it with `code`, never retry it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
