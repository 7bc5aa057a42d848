"""The vault's tables. Secret values live only in ``credential_versions.secret``,
sealed under the credential's own data key and bound to their row by AAD."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base

KIND_CHECK = (
    "kind in ('api_key', 'basic', 'bearer', 'oauth2_client_credentials', 'database', "
    "'webhook_secret', 'smtp')"
)


class CredentialRow(Base):
    __tablename__ = "credentials"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="kind"),
        CheckConstraint(
            "rotation_period_days is null or rotation_period_days > 0", name="rotation_period"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(2000))
    data_key_id: Mapped[str] = mapped_column(String(32))
    current_version: Mapped[int] = mapped_column(Integer)
    rotation_period_days: Mapped[int | None] = mapped_column(Integer)
    rotated_at: Mapped[datetime]
    # When the overdue rotation was recorded (once per rotation period, not every check).
    overdue_recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class CredentialVersionRow(Base):
    """One secret value of a credential. ``active``: what leases get; ``previous``: still
    valid until ``retire_after`` (a rotation's grace period); ``retired``: never used again."""

    __tablename__ = "credential_versions"
    __table_args__ = (
        UniqueConstraint("credential_id", "version"),
        CheckConstraint("state in ('active', 'previous', 'retired')", name="state"),
        Index("ix_credential_versions_state_retire_after", "state", "retire_after"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"))
    version: Mapped[int] = mapped_column(Integer)
    secret: Mapped[str] = mapped_column(Text)  # sealed JSON of the kind's fields
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    retire_after: Mapped[datetime | None]


class CredentialGrantRow(Base):
    """An automation may lease a credential while its grant is live (not revoked)."""

    __tablename__ = "credential_grants"
    __table_args__ = (UniqueConstraint("credential_id", "automation_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"))
    automation_id: Mapped[str] = mapped_column(ForeignKey("automations.id"), index=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
