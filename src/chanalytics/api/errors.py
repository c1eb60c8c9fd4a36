"""The error envelope, and the one place where exceptions become HTTP responses."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException

from chanalytics.clickhouse.storage import StorageError
from chanalytics.query.errors import BadParameter, NotFound

log = structlog.get_logger(__name__)


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    code: str
    message: str
    field: str | None = None


class ErrorEnvelope(msgspec.Struct, frozen=True):
    success: bool
    error: ErrorBody


def error_envelope(code: str, message: str, field: str | None = None) -> ErrorEnvelope:
    return ErrorEnvelope(success=False, error=ErrorBody(code=code, message=message, field=field))


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response[Any]:
    # JSON whatever the handler's own media type (the live stream's is text/event-stream).
    return Response(error_envelope(code, message, field), status_code=status,
                    media_type="application/json")


def _bad_parameter(_: Request[Any, Any, Any], exc: BadParameter) -> Response[Any]:
    return error_response(400, exc.code, exc.message, exc.field)


def _not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return error_response(404, "not_found", exc.message)


def _storage(_: Request[Any, Any, Any], exc: StorageError) -> Response[Any]:
    log.warning("query.storage.failed", error=str(exc))
    return error_response(503, "storage_unavailable", "analytics storage is not reachable")


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException):
        response = error_response(401, "unauthorized", exc.detail or "missing or unknown token")
        response.headers["WWW-Authenticate"] = "Bearer"  # RFC 6750 §3
        return response
    if isinstance(exc, ValidationException):
        return error_response(400, "invalid_parameter", str(exc.detail))
    code = "not_found" if exc.status_code == 404 else "http_error"
    return error_response(exc.status_code, code, str(exc.detail))


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The request's own line (`api.request.failed`, status 500) follows; this one has the
    # traceback.
    log.exception("api.request.crashed", error=str(exc))
    return error_response(500, "internal_error", "unexpected error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    BadParameter: _bad_parameter,
    NotFound: _not_found,
    StorageError: _storage,
    HTTPException: _http,
    Exception: _unexpected,
}
