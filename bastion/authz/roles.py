"""Roles as data (RBAC-1): each role is a set of permissions; a person holds the union.

No code asks "is this an admin?": it asks ``authorize(principal, permission)``,
and this table is the only place that says what a role may do. A permission
added to ``Permission`` is denied to every role until it is added here (and to
the role matrix in ``tests/authz/test_roles.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bastion.authz.permissions import Permission
from bastion.errors import Invalid

P = Permission


class Role(StrEnum):
    ADMIN = "admin"
    APPROVER = "approver"
    AUDITOR = "auditor"
    CREATOR = "creator"
    EDITOR = "editor"
    OPERATOR = "operator"
    VIEWER = "viewer"


_SEE = frozenset({P.AUTOMATIONS_AUTOMATION_READ, P.ENGINE_EXECUTION_READ})
# Writing definitions means naming credentials: their metadata (never values) is visible.
_EDIT = _SEE | {
    P.AUTOMATIONS_AUTOMATION_WRITE,
    P.ENGINE_EXECUTION_RUN,
    P.ENGINE_EXECUTION_CANCEL,
    P.VAULT_CREDENTIAL_READ,
}

_ADMINISTER = frozenset(
    {
        P.AUDIT_EVENT_READ,
        P.AUTHZ_GRANT_READ,
        P.AUTHZ_GRANT_WRITE,
        P.AUTOMATIONS_AUTOMATION_CREATE,
        P.AUTOMATIONS_AUTOMATION_DISABLE,
        P.AUTOMATIONS_AUTOMATION_ENABLE,
        P.AUTOMATIONS_CHANGE_APPROVE,
        P.IDENTITY_SESSION_REVOKE,
        P.IDENTITY_USER_READ,
        P.IDENTITY_USER_WRITE,
        P.VAULT_CREDENTIAL_GRANT,
        P.VAULT_CREDENTIAL_READ,
        P.VAULT_CREDENTIAL_WRITE,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Everything a role can hold. Four-eyes rules (RBAC-3) still stop an admin
    # from approving their own change; RBAC-2 grants still gate sensitive automations.
    Role.ADMIN: _ADMINISTER | _EDIT,
    # Approves other people's change requests; reads what they are about.
    Role.APPROVER: _SEE | {P.AUTOMATIONS_CHANGE_APPROVE},
    # Reads everything that shows who may do what and who did what; changes nothing.
    Role.AUDITOR: _SEE
    | {P.AUDIT_EVENT_READ, P.AUTHZ_GRANT_READ, P.IDENTITY_USER_READ, P.VAULT_CREDENTIAL_READ},
    # An editor who may also bring new automations into being and switch them on or off.
    Role.CREATOR: _EDIT
    | {
        P.AUTOMATIONS_AUTOMATION_CREATE,
        P.AUTOMATIONS_AUTOMATION_DISABLE,
        P.AUTOMATIONS_AUTOMATION_ENABLE,
    },
    # Changes existing definitions and runs them to try them.
    Role.EDITOR: _EDIT,
    # Run and stop only (CONTROLS.md RBAC-1): no definition changes, no enabling.
    Role.OPERATOR: _SEE
    | {P.ENGINE_EXECUTION_RUN, P.ENGINE_EXECUTION_CANCEL, P.AUTOMATIONS_AUTOMATION_DISABLE},
    Role.VIEWER: _SEE,
}

# What every signed-in person may do for themselves, whatever their roles.
SELF_SERVICE: frozenset[Permission] = frozenset({P.IDENTITY_MFA_ENROLL})


def permissions_for(roles: Iterable[Role]) -> frozenset[Permission]:
    """The union of the roles' permissions (empty for no roles: deny by default)."""
    held: frozenset[Permission] = frozenset()
    for role in roles:
        held |= ROLE_PERMISSIONS[role]
    return held


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names to roles. Raises Invalid naming the first unknown one."""
    known = {r.value: r for r in Role}
    roles = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in roles if n not in known]
    if unknown:
        raise Invalid(
            f"unknown role {unknown[0]!r}; known: {', '.join(sorted(known))}",
            code="invalid_roles",
        )
    return frozenset(known[n] for n in roles)
