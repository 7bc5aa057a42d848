"""Per-request context: the correlation id, set by a small ASGI middleware."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from bastion import codec
from bastion.ids import correlation_id

log = logging.getLogger("bastion.api")

_current: ContextVar[str] = ContextVar("correlation_id", default="-")
_SAFE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
HEADER = b"x-correlation-id"


def current_correlation_id() -> str:
    return _current.get()


class CorrelationMiddleware:
    """Takes a well-formed ``X-Correlation-Id`` from the caller or makes one, and
    returns it on every response. Written as raw ASGI: it runs on every request,
    including the webhook hot path, and BaseHTTPMiddleware costs a task per call."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = _incoming(scope.get("headers", ())) or correlation_id()
        token = _current.set(cid)
        raw = cid.encode()

        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), (HEADER, raw), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Last line of defence: the caller gets a correlation id and nothing else;
            # the traceback goes to the log under the same id.
            log.exception("unhandled error (correlation id %s)", cid)
            if not started:
                await _internal_error(send_with_id, cid)
        finally:
            _current.reset(token)


def _incoming(headers: Any) -> str | None:
    for name, value in headers:
        if name == HEADER:
            text = value.decode("latin-1")
            return text if _SAFE.match(text) else None
    return None


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
)


async def _internal_error(send: Any, cid: str) -> None:
    body = codec.dumps(
        {
            "code": "internal_error",
            "message": "something went wrong on our side",
            "correlation_id": cid,
        }
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
