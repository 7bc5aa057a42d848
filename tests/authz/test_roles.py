"""RBAC-1: the role x permission matrix, written here independently of
``bastion/authz/roles.py``: every role against every permission through the one
``authorize``. A permission added to the enum fails this test until someone
decides, here, which roles hold it."""

from __future__ import annotations

import pytest

from bastion.authz import (
    TOKEN_PERMISSIONS,
    MissingPermission,
    Permission,
    Principal,
    Role,
    WrongAuthMethod,
    authorize,
    parse_roles,
    permissions_for,
)
from bastion.errors import Invalid

# Columns: admin, creator, editor, viewer, approver, auditor, operator.
COLUMNS = ("admin", "creator", "editor", "viewer", "approver", "auditor", "operator")
MATRIX = {
    "audit:event:read":               "Y . . . . Y .",
    "authz:grant:read":               "Y . . . . Y .",
    "authz:grant:write":              "Y . . . . . .",
    "automations:automation:create":  "Y Y . . . . .",
    "automations:automation:disable": "Y Y . . . . Y",
    "automations:automation:enable":  "Y Y . . . . .",
    "automations:automation:read":    "Y Y Y Y Y Y Y",
    "automations:automation:write":   "Y Y Y . . . .",
    "automations:change:approve":     "Y . . . Y . .",
    "engine:execution:cancel":        "Y Y Y . . . Y",
    "engine:execution:read":          "Y Y Y Y Y Y Y",
    "engine:execution:run":           "Y Y Y . . . Y",
    "identity:mfa:enroll":            ". . . . . . .",  # self-service, not a role's
    "identity:session:revoke":        "Y . . . . . .",
    "identity:user:read":             "Y . . . . Y .",
    "identity:user:write":            "Y . . . . . .",
    "vault:credential:grant":         "Y . . . . . .",
    "vault:credential:read":          "Y Y Y . . Y .",
    "vault:credential:write":         "Y . . . . . .",
}  # fmt: skip
CASES = [
    (role, permission, flags.split()[i] == "Y")
    for permission, flags in MATRIX.items()
    for i, role in enumerate(COLUMNS)
]


def _person(*roles: Role) -> Principal:
    return Principal("user", "u1", "u1", permissions_for(roles), frozenset(r.value for r in roles))


def test_the_matrix_covers_every_role_and_every_permission() -> None:
    assert set(MATRIX) == {p.value for p in Permission}
    assert set(COLUMNS) == {r.value for r in Role}


@pytest.mark.parametrize(("role", "permission", "allowed"), CASES)
def test_role_matrix(role: str, permission: str, allowed: bool) -> None:
    principal = _person(Role(role))
    if allowed:
        authorize(principal, Permission(permission))
    else:
        with pytest.raises(MissingPermission) as info:
            authorize(principal, Permission(permission))
        assert info.value.reason == "missing_permission"


def test_no_role_means_no_permission() -> None:
    for permission in Permission:
        with pytest.raises(MissingPermission):
            authorize(_person(), permission)


def test_a_person_holds_the_union_of_their_roles() -> None:
    principal = _person(Role.VIEWER, Role.APPROVER, Role.OPERATOR)
    authorize(principal, Permission.AUTOMATIONS_CHANGE_APPROVE)
    authorize(principal, Permission.ENGINE_EXECUTION_RUN)
    with pytest.raises(MissingPermission):
        authorize(principal, Permission.AUTOMATIONS_AUTOMATION_WRITE)


# The auth-method table: what an API token may exercise, even if its scopes say more.
TOKEN_ALLOWED = {
    "audit:event:read", "automations:automation:read", "automations:automation:write",
    "engine:execution:cancel", "engine:execution:read", "engine:execution:run",
    "vault:credential:read", "vault:credential:write",
}  # fmt: skip


@pytest.mark.parametrize("permission", list(Permission))
def test_a_token_can_never_exercise_a_session_only_permission(permission: Permission) -> None:
    token = Principal("token", "t1", "ci", frozenset(Permission))  # scopes claim everything
    if permission.value in TOKEN_ALLOWED:
        authorize(token, permission)
    else:
        with pytest.raises(WrongAuthMethod) as info:
            authorize(token, permission)
        assert info.value.reason == "auth_method"
    assert {p.value for p in TOKEN_PERMISSIONS} == TOKEN_ALLOWED


def test_an_unknown_kind_of_principal_may_do_nothing() -> None:
    stranger = Principal("service_account", "s1", "s", frozenset(Permission))
    with pytest.raises(WrongAuthMethod):
        authorize(stranger, Permission.AUTOMATIONS_AUTOMATION_READ)


def test_role_names_are_parsed_strictly() -> None:
    assert parse_roles(["Admin", " viewer ", ""]) == {Role.ADMIN, Role.VIEWER}
    with pytest.raises(Invalid):
        parse_roles(["root"])
