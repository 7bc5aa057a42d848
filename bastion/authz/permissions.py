from __future__ import annotations

from enum import StrEnum

from bastion.errors import Invalid


class Permission(StrEnum):
    """Alphabetical; never renamed (add a new one and deprecate the old)."""

    AUDIT_EVENT_READ = "audit:event:read"
    AUTOMATIONS_AUTOMATION_READ = "automations:automation:read"
    AUTOMATIONS_AUTOMATION_WRITE = "automations:automation:write"
    ENGINE_EXECUTION_CANCEL = "engine:execution:cancel"
    ENGINE_EXECUTION_READ = "engine:execution:read"
    ENGINE_EXECUTION_RUN = "engine:execution:run"


# Which permissions an API token may ever carry. Anything not listed here is
# reserved to interactive sessions (e.g. approving a change request), so a
# leaked token can never exercise it.
TOKEN_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


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
        raise Invalid(
            f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(known))}",
            code="invalid_scopes",
        )
    scopes = frozenset(known[n] for n in names)
    if not scopes <= TOKEN_PERMISSIONS:
        raise Invalid("a token cannot carry that permission", code="invalid_scopes")
    return scopes
