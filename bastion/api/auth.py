"""Who is calling, and may they: one dependency per permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import Permission, Principal, authorize
from bastion.errors import Forbidden, Unauthenticated


def services(request: Request) -> Any:
    return request.app.state.services


def require(permission: Permission) -> Callable[[Request], Principal]:
    """A dependency that authenticates the bearer token and checks ``permission``."""

    def dependency(request: Request) -> Principal:
        svc = services(request)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send an API token: Authorization: Bearer bst_...")
        principal: Principal = svc.tokens.authenticate(token)
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
