"""Streamed exports: CSV (RFC 4180, a header row) or NDJSON (one object per line).

Rows are encoded block by block as they are read, so memory holds a block, whatever the
size of the export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.response import Stream

from chanalytics.query.errors import BadParameter
from chanalytics.query.exports import encoded

MEDIA = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
_ACCEPT = {"text/csv": "csv", "application/x-ndjson": "ndjson"}


def export_format(request: Request[Any, Any, Any], value: str | None) -> str | None:
    """`format=csv|ndjson`, else what `Accept` asks for; None for a JSON answer."""
    if value is not None:
        if value not in MEDIA:
            raise BadParameter("invalid_format", "format must be csv or ndjson", "format")
        return value
    for part in request.headers.get("accept", "").split(","):
        kind = _ACCEPT.get(part.split(";")[0].strip().lower())
        if kind:
            return kind
    return None


@dataclass
class ExportOperation(Operation):
    """The OpenAPI operation of a handler that answers JSON or streams an export: its 200
    documents the JSON envelope (not `oneOf` the envelope and the stream's empty schema,
    which every body matches twice) and the CSV and NDJSON media types beside it."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if not isinstance(answer, OpenAPIResponse) or not answer.content:
            return
        for media in answer.content.values():
            schema = media.schema
            if isinstance(schema, Schema) and schema.one_of:
                media.schema = schema.one_of[0]
        text = Schema(type=OpenAPIType.STRING)
        answer.content.update({m: OpenAPIMediaType(schema=text) for m in _ACCEPT})
        answer.description = ("The JSON answer, or with format=csv|ndjson (or an Accept "
                              "header asking for one) every row streamed as a file")


def stream(kind: str, names: Sequence[str], blocks: AsyncIterator[Sequence[Sequence[Any]]],
           filename: str) -> Stream:
    return stream_bytes(kind, encoded(kind, names, blocks), filename)


def stream_bytes(kind: str, chunks: AsyncIterator[bytes], filename: str) -> Stream:
    # The header too: a handler that may also answer JSON would otherwise set JSON's.
    return Stream(chunks, media_type=MEDIA[kind], headers={
        "Content-Type": MEDIA[kind],
        "Content-Disposition": f'attachment; filename="{filename}.{kind}"'})
