"""Per-request context: the correlation id, set by a small ASGI middleware."""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from bastion.ids import correlation_id

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

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, raw)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)


def _incoming(headers: Any) -> str | None:
    for name, value in headers:
        if name == HEADER:
            text = value.decode("latin-1")
            return text if _SAFE.match(text) else None
    return None
