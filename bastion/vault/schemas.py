"""What the vault returns: metadata only. No model here has a field for a secret value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from bastion.vault.kinds import Kind


class CredentialRead(BaseModel):
    name: str
    kind: Kind
    description: str | None
    version: int
    rotation_period_days: int | None
    rotated_at: datetime
    due_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None


class VersionRead(BaseModel):
    version: int
    state: Literal["active", "previous", "retired"]
    created_at: datetime
    retire_after: datetime | None


class GrantRead(BaseModel):
    automation: str
    granted_by: str
    granted_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CredentialDetail(CredentialRead):
    public: dict[str, Any]  # the kind's non-secret fields (header name, username, host)
    versions: list[VersionRead]
    grants: list[GrantRead]


class DueRotation(BaseModel):
    name: str
    kind: Kind
    rotated_at: datetime
    due_at: datetime
    status: Literal["due", "overdue"]


@dataclass(frozen=True)
class OverdueCheck:
    """What one housekeeping check did: versions retired, overdue rotations recorded."""

    retired: int = 0
    overdue: list[str] = field(default_factory=list)
