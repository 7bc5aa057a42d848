"""Audit tags and the event record domains hand to the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AuditTag(StrEnum):
    """``domain:resource:action``; alphabetical; never renamed (add and deprecate)."""

    AUDIT_CHAIN_VERIFIED = "audit:chain:verified"
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
    KEYS_ROTATED = "crypto:kek:rotated"
    TOKEN_CREATED = "identity:token:created"  # noqa: S105 (a tag)
    TOKEN_DENIED = "identity:token:denied"  # noqa: S105 (a tag)
    TOKEN_REVOKED = "identity:token:revoked"  # noqa: S105 (a tag)
    TRIGGER_REFUSED = "triggers:input:refused"


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
