from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class ApiTokenRow(Base):
    """An API token. The secret part is never stored, only its keyed digest."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lookup: Mapped[str] = mapped_column(String(24), unique=True)
    digest: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text)  # JSON list of permission names
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UserRow(Base):
    """A person who signs in. The address is personal data: it is stored sealed under
    the user's own data key, and found through a keyed digest of its normalised form
    (so erasing the key erases the address, backups included)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("status in ('active', 'disabled')", name="status"),
        CheckConstraint("failed_logins >= 0 and lockouts >= 0", name="counters"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str] = mapped_column(Text)  # sealed
    data_key_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer)  # consecutive, since the last success
    lockouts: Mapped[int] = mapped_column(Integer)  # since the last success; each one longer
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UserRoleRow(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role in ('admin', 'approver', 'auditor', 'creator', 'editor', 'operator', 'viewer')",
            name="role",
        ),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class TotpRow(Base):
    """A user's TOTP seed, sealed; ``last_step`` is the last time step accepted, so a
    code is never accepted twice. Unconfirmed until a first code proves the device."""

    __tablename__ = "totp_credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seed: Mapped[str] = mapped_column(Text)  # sealed
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCodeRow(Base):
    """A single-use recovery code, stored only as a keyed digest."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SessionRow(Base):
    """A server-side session, found by the keyed digest of its secret id.

    ``stage`` is how far the sign-in got: ``challenge`` (password verified, second
    factor pending: never accepted as a session), ``enrolment`` (may only enrol a
    second factor) or ``full``. Moving to a higher stage always makes a new row.
    """

    __tablename__ = "sessions"
    __table_args__ = (CheckConstraint("stage in ('challenge', 'enrolment', 'full')", name="stage"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(120), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    failures: Mapped[int] = mapped_column(Integer)  # wrong codes against a challenge
    ip: Mapped[str | None] = mapped_column(String(64))


class OneTimeTokenRow(Base):
    """A single-use token for one purpose (the first admin's setup), as a keyed digest."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (CheckConstraint("purpose in ('setup')", name="purpose"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
