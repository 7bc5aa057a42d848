from __future__ import annotations

from dataclasses import dataclass, field

from bastion.authz.permissions import AUTH_METHODS, Permission
from bastion.errors import Forbidden, NotFound

# Sensitivities every principal with the permission may see; the others need a
# grant naming the principal and the automation (RBAC-2).
OPEN_SENSITIVITIES = frozenset({"low", "normal"})
GRANTED_SENSITIVITIES = frozenset({"sensitive", "critical"})


@dataclass(frozen=True)
class Principal:
    """Who is asking: an API token with its scopes, or a signed-in person.

    ``permissions`` is everything the principal holds (a token's scopes; for a
    person, the union of their roles plus self-service). ``grants`` holds the ids
    of the sensitive or critical automations explicitly granted to it, read when
    the credential was checked; ``session_id`` names the session of a person.
    """

    kind: str
    id: str
    name: str
    permissions: frozenset[Permission]
    roles: frozenset[str] = field(default_factory=frozenset)
    grants: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None


@dataclass(frozen=True)
class AutomationResource:
    """An automation as far as a decision needs it: its id and sensitivity."""

    id: str
    sensitivity: str


class MissingPermission(Forbidden):
    code = "forbidden"
    reason = "missing_permission"


class WrongAuthMethod(Forbidden):
    """The permission is held, but not through this kind of credential (e.g. a token)."""

    code = "forbidden"
    reason = "auth_method"


class NotGranted(NotFound):
    """A sensitive or critical automation without a grant: answered as not found, so
    its existence does not leak to those who may not see it."""

    code = "not_found"
    reason = "not_granted"


def authorize(
    principal: Principal, permission: Permission, resource: AutomationResource | None = None
) -> None:
    """Allow, or raise (deny by default).

    Raises NotGranted (a NotFound) when ``resource`` is a sensitive or critical
    automation not granted to the principal; MissingPermission when the principal
    does not hold ``permission``; WrongAuthMethod when it holds it through a kind of
    credential that may not exercise it (see ``AUTH_METHODS``).
    """
    if resource is not None and not may_see(principal, resource):
        raise NotGranted("no such automation")
    if permission not in principal.permissions:
        raise MissingPermission(f"this credential lacks the {permission.value} permission")
    if permission not in AUTH_METHODS.get(principal.kind, frozenset()):
        raise WrongAuthMethod(
            f"{permission.value} cannot be exercised with a {principal.kind} credential"
        )


def may_see(principal: Principal, resource: AutomationResource) -> bool:
    """Open sensitivities are visible to all; sensitive and critical need a grant.
    An unknown sensitivity is treated as the strictest (fail closed)."""
    if resource.sensitivity in OPEN_SENSITIVITIES:
        return True
    return resource.id in principal.grants
