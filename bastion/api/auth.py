"""Who is calling, and may they: one dependency per permission."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.datastructures import Headers

from bastion.api.errors import error_response
from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import Permission, Principal, authorize
from bastion.errors import BastionError, Forbidden, Unauthenticated


def services(request: Request) -> Any:
    return request.app.state.services


class AuthenticateMiddleware:
    """Authenticates every ``/api/`` request before anything reads its body, so an
    anonymous caller can neither make the server parse a large body nor learn how
    parsing fails. The principal goes into the request state; routes authorize."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        tokens = scope["app"].state.services.tokens
        try:
            principal = await asyncio.to_thread(_authenticate, tokens, header)
        except BastionError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _authenticate(tokens: Any, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an API token: Authorization: Bearer bst_...")
    principal: Principal = tokens.authenticate(token)
    return principal


def require(permission: Permission) -> Callable[[Request], Principal]:
    """A dependency that checks ``permission`` for the authenticated principal."""

    def dependency(request: Request) -> Principal:
        svc = services(request)
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            raise Unauthenticated("send an API token: Authorization: Bearer bst_...")
        try:
            authorize(principal, permission)
        except Forbidden:
            _record_denial(svc, principal, permission, request)
            raise
        return principal

    return dependency


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.kind, principal.id, principal.name)


def _record_denial(
    svc: Any, principal: Principal, permission: Permission, request: Request
) -> None:
    event = AuditEvent(
        AuditTag.TOKEN_DENIED, actor_of(principal), outcome="denied",
        data={"permission": permission.value, "path": request.url.path},
        ip=request.client.host if request.client else None,
    )  # fmt: skip
    with svc.db.transaction() as session:
        svc.audit.record(session, event)
