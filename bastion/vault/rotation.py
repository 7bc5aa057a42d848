"""Rotation periods and grace periods: what is due, what is overdue, what retires.

A credential with a rotation period is due ``rotation_period_days`` after its
last rotation (or creation). A version replaced by a rotation stays valid
(``previous``) until its ``retire_after``, so executions that leased it just
before the rotation finish with it; then it is retired and never handed out or
trusted again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion.audit import Actor, AuditTag
from bastion.vault.models import CredentialRow, CredentialVersionRow
from bastion.vault.schemas import DueRotation

Record = Callable[..., None]  # VaultService._record(session, tag, actor, row, data, ...)


def due_at(row: CredentialRow) -> datetime | None:
    if row.rotation_period_days is None or row.revoked_at is not None:
        return None
    return row.rotated_at + timedelta(days=row.rotation_period_days)


def periodic(session: Session, *, lock: bool = False) -> list[CredentialRow]:
    """Live credentials that have a rotation period."""
    stmt = select(CredentialRow).where(
        CredentialRow.revoked_at.is_(None), CredentialRow.rotation_period_days.is_not(None)
    )
    return list(session.scalars(stmt.with_for_update() if lock else stmt))


def due(rows: list[CredentialRow], now: datetime, window: timedelta) -> list[DueRotation]:
    found = []
    for row in rows:
        when = due_at(row)
        if when is not None and when <= now + window:
            status = "overdue" if when <= now else "due"
            found.append(_due(row, when, status))
    return sorted(found, key=lambda d: (d.due_at, d.name))


def _due(row: CredentialRow, when: datetime, status: str) -> DueRotation:
    return DueRotation.model_validate(
        {"name": row.name, "kind": row.kind, "rotated_at": row.rotated_at, "due_at": when,
         "status": status}
    )  # fmt: skip


def retire_expired(session: Session, now: datetime, record: Record) -> int:
    """Retire every ``previous`` version whose grace period has passed; audited."""
    v = CredentialVersionRow
    expired = session.execute(
        select(v.id, v.version, CredentialRow)
        .join(CredentialRow, CredentialRow.id == v.credential_id)
        .where(v.state == "previous", v.retire_after <= now)
        .order_by(CredentialRow.name, v.version)
    ).all()
    for version_id, version, row in expired:
        session.execute(update(v).where(v.id == version_id).values(state="retired"))
        record(session, AuditTag.VAULT_VERSION_RETIRED, Actor.system(), row, {"version": version})
    return len(expired)


def record_overdue(session: Session, now: datetime, record: Record) -> list[str]:
    """Record each overdue rotation once per period (audit ``vault:credential:overdue``)."""
    names = []
    for row in periodic(session, lock=True):
        when = due_at(row)
        if row.overdue_recorded_at is not None or when is None or when > now:
            continue
        row.overdue_recorded_at = now
        data: dict[str, Any] = {
            "due_at": when.isoformat(),
            "rotated_at": row.rotated_at.isoformat(),
        }
        record(session, AuditTag.VAULT_CREDENTIAL_OVERDUE, Actor.system(), row, data,
               outcome="failure")  # fmt: skip
        names.append(row.name)
    return names
