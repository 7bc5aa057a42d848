"""Errors mapped once: every failure becomes ``{code, message, correlation_id}``.

The table is walked by MRO, so a domain's subclass inherits its parent's status
unless it is listed itself. Anything unmapped is a 500 with a correlation id and
nothing else: the details go to the log, never to the caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastion.api.context import current_correlation_id
from bastion.api.responses import JSONBytes
from bastion.errors import (
    BastionError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

STATUS: dict[type[BaseException], int] = {
    NotFound: 404,
    Forbidden: 403,
    Unauthenticated: 401,
    Invalid: 422,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}

# Refinements by code, for Invalid subclasses whose HTTP meaning is more precise.
STATUS_BY_CODE = {"unsupported_media_type": 415, "body_too_large": 413, "invalid_json": 400}


def status_for(exc: BastionError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "correlation_id": current_correlation_id(),
    }
    if details is not None:
        body["details"] = details
    return body


def error_response(exc: BastionError) -> JSONBytes:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, int(exc.resets_in + 0.999)))
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="bastion"'
    return JSONBytes(
        error_body(exc.code, exc.message, exc.details), status_code=status_for(exc), headers=headers
    )


async def _bastion(_request: Request, exc: Exception) -> JSONBytes:
    assert isinstance(exc, BastionError)
    return error_response(exc)


async def _validation(_request: Request, exc: Exception) -> JSONBytes:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"pointer": "/" + "/".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
        for e in exc.errors()
    ]
    return JSONBytes(error_body("invalid_request", "the request is not valid", details), 422)


async def _http(_request: Request, exc: Exception) -> JSONBytes:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = {404: "no such resource", 405: "method not allowed"}.get(
        exc.status_code, "request failed"
    )
    return JSONBytes(error_body(code, message), exc.status_code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(BastionError, _bastion)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
