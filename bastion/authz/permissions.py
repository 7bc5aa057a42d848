from __future__ import annotations

from enum import StrEnum

from bastion.errors import Invalid


class Permission(StrEnum):
    """Alphabetical; never renamed (add a new one and deprecate the old)."""

    AUDIT_EVENT_READ = "audit:event:read"
    AUTHZ_GRANT_READ = "authz:grant:read"
    AUTHZ_GRANT_WRITE = "authz:grant:write"
    AUTOMATIONS_AUTOMATION_CREATE = "automations:automation:create"
    AUTOMATIONS_AUTOMATION_DISABLE = "automations:automation:disable"
    AUTOMATIONS_AUTOMATION_ENABLE = "automations:automation:enable"
    AUTOMATIONS_AUTOMATION_READ = "automations:automation:read"
    AUTOMATIONS_AUTOMATION_WRITE = "automations:automation:write"
    AUTOMATIONS_CHANGE_APPROVE = "automations:change:approve"
    ENGINE_EXECUTION_CANCEL = "engine:execution:cancel"
    ENGINE_EXECUTION_READ = "engine:execution:read"
    ENGINE_EXECUTION_RUN = "engine:execution:run"
    IDENTITY_MFA_ENROLL = "identity:mfa:enroll"
    IDENTITY_SESSION_REVOKE = "identity:session:revoke"
    IDENTITY_USER_READ = "identity:user:read"
    IDENTITY_USER_WRITE = "identity:user:write"
    VAULT_CREDENTIAL_GRANT = "vault:credential:grant"
    VAULT_CREDENTIAL_READ = "vault:credential:read"
    VAULT_CREDENTIAL_WRITE = "vault:credential:write"


P = Permission

# The auth-method table: which permissions an API token may ever exercise.
# Everything else is reserved to interactive sessions of a person who passed MFA
# (approving a change, managing users, grants and sessions), so a leaked token
# can never do it, whatever scopes it was given.
TOKEN_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        P.AUDIT_EVENT_READ,
        P.AUTOMATIONS_AUTOMATION_READ,
        P.AUTOMATIONS_AUTOMATION_WRITE,
        P.ENGINE_EXECUTION_CANCEL,
        P.ENGINE_EXECUTION_READ,
        P.ENGINE_EXECUTION_RUN,
        # Values go in and never come out, so a token may create and rotate them; letting
        # an automation use one (vault:credential:grant) is reserved to a person.
        P.VAULT_CREDENTIAL_READ,
        P.VAULT_CREDENTIAL_WRITE,
    }
)

# Principal kinds, and the permissions each kind of credential may exercise at all.
USER, TOKEN = "user", "token"
AUTH_METHODS: dict[str, frozenset[Permission]] = {
    USER: frozenset(Permission),
    TOKEN: TOKEN_PERMISSIONS,
}


def parse_scopes(text: str) -> frozenset[Permission]:
    """``"a:b:c,d:e:f"`` or ``"*"`` (every token permission). Raises Invalid naming the bad one."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise Invalid("give at least one scope", code="invalid_scopes")
    if names == ["*"]:
        return TOKEN_PERMISSIONS
    known = {p.value: p for p in Permission}
    unknown = [n for n in names if n not in known]
    if unknown:
        allowed = ", ".join(sorted(p.value for p in TOKEN_PERMISSIONS))
        raise Invalid(f"unknown scope {unknown[0]!r}; known: {allowed}", code="invalid_scopes")
    reserved = sorted(n for n in names if known[n] not in TOKEN_PERMISSIONS)
    if reserved:
        raise Invalid(
            f"a token cannot carry {reserved[0]!r}: it is reserved to interactive sessions",
            code="invalid_scopes",
        )
    return frozenset(known[n] for n in names)
