"""Rate limits on every ``/api/`` request (API-2), as two small ASGI middlewares.

They sit on either side of ``AuthenticateMiddleware``:

- ``SourceRateLimit`` runs first and counts every request against its source
  address, authenticated or not, so guessing tokens costs the guesser's budget;
- ``PrincipalRateLimit`` runs once the caller is known and counts against its
  token. It is keyed by the authenticated principal, never by a token the caller
  merely presents: otherwise anyone could spend someone else's budget.

Both answer before any body is read, with ``429`` and ``Retry-After``, or with
``503`` when the shared rate-limit storage does not answer (fail closed).
"""

from __future__ import annotations

from typing import Any

from bastion.api.errors import error_response
from bastion.errors import BastionError
from bastion.throttle import source_key


def _is_api(scope: dict[str, Any]) -> bool:
    return scope["type"] == "http" and str(scope["path"]).startswith("/api/")


async def _limited(
    scope: dict[str, Any], receive: Any, send: Any, limit: str, *keys: str, what: str
) -> bool:
    """Count the request; on a refusal send the error response and return True."""
    try:
        await scope["app"].state.services.throttle.hit_async(limit, *keys, what=what)
    except BastionError as exc:
        await error_response(exc)(scope, receive, send)
        return True
    return False


class SourceRateLimit:
    """``BASTION_API_RATE_LIMIT_PER_IP`` for every ``/api/`` request, before authentication."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _is_api(scope):
            client = scope.get("client")
            source = source_key(client[0] if client else None)
            limit = scope["app"].state.services.settings.api_rate_limit_per_ip
            if await _limited(
                scope, receive, send, limit, "api", "source", source,
                what="API requests from this address",
            ):  # fmt: skip
                return
        await self.app(scope, receive, send)


class PrincipalRateLimit:
    """``BASTION_API_RATE_LIMIT_PER_TOKEN`` for every authenticated ``/api/`` request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        principal = scope.get("state", {}).get("principal") if _is_api(scope) else None
        if principal is not None:
            limit = scope["app"].state.services.settings.api_rate_limit_per_token
            if await _limited(
                scope, receive, send, limit, "api", principal.kind, principal.id,
                what="API requests with this credential",
            ):  # fmt: skip
                return
        await self.app(scope, receive, send)
