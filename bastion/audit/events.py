"""Audit tags and the event record domains hand to the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AuditTag(StrEnum):
    """``domain:resource:action``; alphabetical; never renamed (add and deprecate)."""

    AUDIT_CHAIN_VERIFIED = "audit:chain:verified"
    AUTHZ_GRANT_CREATED = "authz:grant:created"
    AUTHZ_GRANT_REVOKED = "authz:grant:revoked"
    AUTOMATION_APPLIED = "automations:automation:applied"
    AUTOMATION_CREATED = "automations:automation:created"
    AUTOMATION_DISABLED = "automations:automation:disabled"
    AUTOMATION_ENABLED = "automations:automation:enabled"
    EXECUTION_CANCELLED = "engine:execution:cancelled"
    EXECUTION_FAILED = "engine:execution:failed"
    EXECUTION_KILLED = "engine:execution:killed"
    EXECUTION_QUEUED = "engine:execution:queued"
    EXECUTION_RESUMED = "engine:execution:resumed"
    EXECUTION_RUNNING = "engine:execution:running"
    EXECUTION_SUCCEEDED = "engine:execution:succeeded"
    EXECUTION_WAITING = "engine:execution:waiting"
    IDENTITY_LOGIN_CHALLENGED = "identity:login:challenged"
    IDENTITY_LOGIN_FAILED = "identity:login:failed"
    IDENTITY_LOGIN_LOCKED = "identity:login:locked"
    IDENTITY_LOGIN_SUCCEEDED = "identity:login:succeeded"
    IDENTITY_MFA_ENROLLED = "identity:mfa:enrolled"
    IDENTITY_MFA_REFUSED = "identity:mfa:refused"
    IDENTITY_MFA_RESET = "identity:mfa:reset"
    IDENTITY_MFA_STARTED = "identity:mfa:started"
    IDENTITY_PASSWORD_REHASHED = "identity:password:rehashed"  # noqa: S105 (a tag)
    IDENTITY_RECOVERY_CODES_ISSUED = "identity:recovery_codes:issued"
    IDENTITY_RECOVERY_CODE_USED = "identity:recovery_code:used"
    IDENTITY_SESSION_CREATED = "identity:session:created"
    IDENTITY_SESSION_EXPIRED = "identity:session:expired"
    IDENTITY_SESSION_REVOKED = "identity:session:revoked"
    IDENTITY_SETUP_TOKEN_ISSUED = "identity:setup_token:issued"  # noqa: S105 (a tag)
    IDENTITY_SETUP_TOKEN_USED = "identity:setup_token:used"  # noqa: S105 (a tag)
    IDENTITY_USER_CREATED = "identity:user:created"
    IDENTITY_USER_DISABLED = "identity:user:disabled"
    IDENTITY_USER_ENABLED = "identity:user:enabled"
    IDENTITY_USER_ROLES_CHANGED = "identity:user:roles_changed"
    KEYS_ROTATED = "crypto:kek:rotated"
    TOKEN_CREATED = "identity:token:created"  # noqa: S105 (a tag)
    TOKEN_DENIED = "identity:token:denied"  # noqa: S105 (a tag)
    TOKEN_REVOKED = "identity:token:revoked"  # noqa: S105 (a tag)
    TRIGGER_REFUSED = "triggers:input:refused"
    VAULT_CREDENTIAL_CREATED = "vault:credential:created"
    VAULT_CREDENTIAL_DENIED = "vault:credential:denied"
    VAULT_CREDENTIAL_LEASED = "vault:credential:leased"
    VAULT_CREDENTIAL_OVERDUE = "vault:credential:overdue"
    VAULT_CREDENTIAL_REVOKED = "vault:credential:revoked"
    VAULT_CREDENTIAL_ROTATED = "vault:credential:rotated"
    VAULT_GRANT_CREATED = "vault:grant:created"
    VAULT_GRANT_REVOKED = "vault:grant:revoked"
    VAULT_VERSION_RETIRED = "vault:version:retired"


@dataclass(frozen=True)
class Actor:
    """Who did it: a token, a service account, the local CLI, or the system itself."""

    kind: str  # "token" | "service_account" | "cli" | "system" | "anonymous"
    id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. ``data`` is stored in clear and must hold no
    personal or secret value; ``sealed`` details are encrypted at rest."""

    tag: AuditTag
    actor: Actor
    subject_kind: str | None = None
    subject_id: str | None = None
    automation_id: str | None = None
    outcome: str = "success"  # "success" | "denied" | "failure"
    data: dict[str, Any] = field(default_factory=dict)
    sealed: dict[str, Any] | None = None
    correlation_id: str | None = None
    ip: str | None = None
