from __future__ import annotations

from dataclasses import dataclass

from bastion.authz.permissions import Permission
from bastion.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """Who is asking: for now an API token with its scopes."""

    kind: str
    id: str
    name: str
    permissions: frozenset[Permission]


class MissingPermission(Forbidden):
    code = "forbidden"
    reason = "missing_permission"


def authorize(principal: Principal, permission: Permission) -> None:
    """Allow, or raise MissingPermission (deny by default)."""
    if permission not in principal.permissions:
        raise MissingPermission(f"this credential lacks the {permission.value} permission")
