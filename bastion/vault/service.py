"""The vault's use cases. Values go in and never come out, except as a lease.

Every change is audited in its own transaction (created, rotated, revoked,
granted, grant revoked, version retired, rotation overdue); leases and refusals
are audited through the group-commit writer (see ``leases``). The masker holds
every value of every version not yet retired, and is updated on each change.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditLog, AuditTag
from bastion.clock import Clock
from bastion.crypto import DataKey
from bastion.errors import Conflict, Invalid
from bastion.ids import new_id
from bastion.store.datakeys import DataKeyRow, Sealer
from bastion.store.db import Database
from bastion.store.writer import CommitWriter
from bastion.vault import rotation
from bastion.vault.errors import CredentialNotFound, CredentialRevoked, GrantNotFound
from bastion.vault.kinds import Kind, KindSecret, parse_kind, parse_secret
from bastion.vault.leases import Lease, LeaseDesk, Use, bare_name, version_aad
from bastion.vault.masking import Masker
from bastion.vault.models import CredentialGrantRow, CredentialRow, CredentialVersionRow
from bastion.vault.schemas import (
    CredentialDetail,
    CredentialRead,
    DueRotation,
    GrantRead,
    OverdueCheck,
    VersionRead,
)

NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
KEY_PURPOSE = "credential"
MAX_PERIOD_DAYS = 3650


class VaultService:
    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        audit: AuditLog,
        writer: CommitWriter,
        clock: Clock,
        *,
        grace_seconds: float,
        due_days: int,
        automation_id: Callable[[str], str],
        automation_name: Callable[[str], str],
    ) -> None:
        """``automation_id`` and ``automation_name`` resolve automations (the vault sits
        below the automations domain and does not import it); both raise NotFound."""
        self._db, self._sealer, self._audit, self._clock = db, sealer, audit, clock
        self._grace = timedelta(seconds=grace_seconds)
        self._due_window = timedelta(days=due_days)
        self._automation_id, self._automation_name = automation_id, automation_name
        self._desk = LeaseDesk(db, sealer, writer, clock)
        self.masker = Masker()

    # -- run time -------------------------------------------------------------

    async def lease(
        self,
        automation_id: str,
        execution_id: str,
        step_id: str,
        name: str,
        *,
        automation_name: str | None = None,
        correlation_id: str | None = None,
    ) -> Lease:
        """The active version of credential ``name`` for one step. Records the use
        (audit ``vault:credential:leased``, the grant's ``last_used_at``) before
        returning. Raises CredentialNotGranted, audited, when the automation holds no
        live grant or the credential is revoked."""
        use = Use(automation_id, execution_id, step_id, automation_name, correlation_id)
        return await self._desk.lease(use, name)

    async def check(self, use: Use, names: frozenset[str]) -> None:
        """Raises CredentialNotGranted (audited) unless every credential is leasable."""
        await self._desk.check(use, names)

    # -- writes ---------------------------------------------------------------

    def create(
        self,
        name: str,
        kind: str,
        secret: Mapping[str, Any],
        actor: Actor,
        *,
        description: str | None = None,
        rotation_period_days: int | None = None,
    ) -> CredentialRead:
        """Store a new credential (version 1). Returns its metadata, never the value.
        Raises Invalid (name, kind, secret, period) or Conflict (the name is taken)."""
        _check_name(name)
        _check_period(rotation_period_days)
        parsed = parse_secret(parse_kind(kind), secret)
        now = self._clock.now()
        try:
            with self._db.transaction() as session:
                if session.scalar(select(CredentialRow.id).where(CredentialRow.name == name)):
                    raise _exists(name)
                key, key_row = self._sealer.new_key(KEY_PURPOSE, now)
                session.add(DataKeyRow(**key_row))
                row = CredentialRow(
                    id=new_id(), name=name, kind=parsed.kind.value, description=description,
                    data_key_id=key.id, current_version=1,
                    rotation_period_days=rotation_period_days, rotated_at=now,
                    overdue_recorded_at=None, created_at=now, revoked_at=None,
                )  # fmt: skip
                session.add(row)
                session.flush()
                session.add(self._version_row(row, key, 1, parsed, now))
                data = {"kind": row.kind, "version": 1, "period_days": rotation_period_days}
                self._record(session, AuditTag.VAULT_CREDENTIAL_CREATED, actor, row, data)
        except IntegrityError:
            raise _exists(name) from None
        self.masker.add(parsed.secret_values())
        return self._read(row)

    def rotate(self, name: str, secret: Mapping[str, Any], actor: Actor) -> CredentialRead:
        """Make a new active version. The one it replaces stays valid (``previous``) for
        the grace period, then is retired by ``check_overdue``. Raises NotFound,
        CredentialRevoked or Invalid."""
        now = self._clock.now()
        with self._db.transaction() as session:
            row = self._live_row(session, name)
            parsed = parse_secret(Kind(row.kind), secret)
            retire_after = now + self._grace
            session.execute(
                update(CredentialVersionRow)
                .where(CredentialVersionRow.credential_id == row.id)
                .where(CredentialVersionRow.state == "active")
                .values(state="previous", retire_after=retire_after)
            )
            version = row.current_version + 1
            key = self._sealer.key(row.data_key_id)
            session.add(self._version_row(row, key, version, parsed, now))
            row.current_version, row.rotated_at, row.overdue_recorded_at = version, now, None
            data = {"version": version, "previous_valid_until": retire_after.isoformat()}
            self._record(session, AuditTag.VAULT_CREDENTIAL_ROTATED, actor, row, data)
        self.masker.add(parsed.secret_values())
        return self._read(row)

    def revoke(self, name: str, actor: Actor) -> CredentialRead:
        """No automation can lease it any more. Raises NotFound or CredentialRevoked."""
        with self._db.transaction() as session:
            row = self._live_row(session, name)
            row.revoked_at = self._clock.now()
            data = {"version": row.current_version}
            self._record(session, AuditTag.VAULT_CREDENTIAL_REVOKED, actor, row, data)
        return self._read(row)

    def grant(self, name: str, automation: str, actor: Actor) -> GrantRead:
        """Let ``automation`` lease credential ``name``; granting twice changes nothing.
        Raises NotFound (credential or automation) or CredentialRevoked."""
        automation_id = self._automation_id(automation)
        now = self._clock.now()
        with self._db.transaction() as session:
            row = self._live_row(session, name)
            grant = self._grant_row(session, row.id, automation_id)
            if grant is not None and grant.revoked_at is None:
                return _grant_read(grant, automation)
            if grant is None:
                grant = CredentialGrantRow(id=new_id(), credential_id=row.id,
                                           automation_id=automation_id)  # fmt: skip
                session.add(grant)
            grant.granted_by, grant.granted_at = _label(actor), now
            grant.last_used_at, grant.revoked_at = None, None
            data = {"automation": automation}
            self._record(session, AuditTag.VAULT_GRANT_CREATED, actor, row, data, automation_id)
        return _grant_read(grant, automation)

    def revoke_grant(self, name: str, automation: str, actor: Actor) -> GrantRead:
        """Take the grant back at once: the next lease is refused. Raises NotFound."""
        automation_id = self._automation_id(automation)
        with self._db.transaction() as session:
            row = self._row(session, name, lock=True)
            grant = self._grant_row(session, row.id, automation_id)
            if grant is None or grant.revoked_at is not None:
                raise GrantNotFound(name, automation)
            grant.revoked_at = self._clock.now()
            data = {"automation": automation}
            self._record(session, AuditTag.VAULT_GRANT_REVOKED, actor, row, data, automation_id)
        return _grant_read(grant, automation)

    # -- rotation periods ------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[DueRotation]:
        """Credentials whose rotation is overdue, or due within the warning window,
        soonest first. Revoked credentials and those without a period are left out."""
        with self._db.reader() as session:
            rows = rotation.periodic(session)
        return rotation.due(rows, now or self._clock.now(), self._due_window)

    def check_overdue(self, now: datetime | None = None) -> OverdueCheck:
        """The housekeeping check (about once a minute): retire previous versions whose
        grace period has passed, record each newly overdue rotation once (audit
        ``vault:credential:overdue``), and reload the masker."""
        now = now or self._clock.now()
        with self._db.transaction() as session:
            retired = rotation.retire_expired(session, now, self._record)
            overdue = rotation.record_overdue(session, now, self._record)
        self.refresh_masker()
        return OverdueCheck(retired=retired, overdue=overdue)

    # -- reads -------------------------------------------------------------------

    def list(self) -> builtins.list[CredentialRead]:
        with self._db.reader() as session:
            rows = session.scalars(select(CredentialRow).order_by(CredentialRow.name)).all()
        return [self._read(row) for row in rows]

    def show(self, name: str) -> CredentialDetail:
        """Metadata, the kind's public fields, versions and grants; never a secret value."""
        with self._db.reader() as session:
            row = self._row(session, name)
            versions = session.scalars(
                select(CredentialVersionRow)
                .where(CredentialVersionRow.credential_id == row.id)
                .order_by(CredentialVersionRow.version)
            ).all()
            grants = session.scalars(
                select(CredentialGrantRow)
                .where(CredentialGrantRow.credential_id == row.id)
                .order_by(CredentialGrantRow.granted_at)
            ).all()
        current = next(v for v in versions if v.version == row.current_version)
        return CredentialDetail(
            **self._read(row).model_dump(),
            public=self._open(row, current).public(),
            versions=[VersionRead.model_validate(v, from_attributes=True) for v in versions],
            grants=[_grant_read(g, self._automation_name(g.automation_id)) for g in grants],
        )

    def refresh_masker(self) -> None:
        """Mask exactly the values of every version not retired (revoked credentials too)."""
        with self._db.reader() as session:
            pairs = session.execute(
                select(CredentialRow, CredentialVersionRow)
                .join(CredentialVersionRow, CredentialVersionRow.credential_id == CredentialRow.id)
                .where(CredentialVersionRow.state != "retired")
            ).all()
        self.masker.update(_values(self._open(row, version) for row, version in pairs))

    # -- helpers -------------------------------------------------------------------

    def _version_row(
        self, row: CredentialRow, key: DataKey, version: int, secret: KindSecret, now: datetime
    ) -> CredentialVersionRow:
        sealed = self._sealer.seal(key, codec.dumps(secret.reveal()), version_aad(row.id, version))
        return CredentialVersionRow(
            id=new_id(), credential_id=row.id, version=version, secret=sealed, state="active",
            created_at=now, retire_after=None,
        )  # fmt: skip

    def _open(self, row: CredentialRow, version: CredentialVersionRow) -> KindSecret:
        plain = self._sealer.open(version.secret, version_aad(row.id, version.version))
        return parse_secret(Kind(row.kind), codec.loads(plain))

    def _row(self, session: Session, name: str, *, lock: bool = False) -> CredentialRow:
        stmt = select(CredentialRow).where(CredentialRow.name == bare_name(name))
        row = session.scalar(stmt.with_for_update() if lock else stmt)
        if row is None:
            raise CredentialNotFound(bare_name(name))
        return row

    def _live_row(self, session: Session, name: str) -> CredentialRow:
        # Locked: two rotations at once must not both make version N + 1.
        row = self._row(session, name, lock=True)
        if row.revoked_at is not None:
            raise CredentialRevoked(row.name)
        return row

    def _grant_row(
        self, session: Session, credential_id: str, automation_id: str
    ) -> CredentialGrantRow | None:
        return session.scalar(
            select(CredentialGrantRow).where(
                CredentialGrantRow.credential_id == credential_id,
                CredentialGrantRow.automation_id == automation_id,
            )
        )

    def _read(self, row: CredentialRow) -> CredentialRead:
        return CredentialRead(
            name=row.name, kind=Kind(row.kind), description=row.description,
            version=row.current_version, rotation_period_days=row.rotation_period_days,
            rotated_at=row.rotated_at, due_at=rotation.due_at(row), created_at=row.created_at,
            revoked_at=row.revoked_at,
        )  # fmt: skip

    def _record(
        self,
        session: Session,
        tag: AuditTag,
        actor: Actor,
        row: CredentialRow,
        data: dict[str, Any],
        automation_id: str | None = None,
        *,
        outcome: str = "success",
    ) -> None:
        event = AuditEvent(
            tag, actor, subject_kind="credential", subject_id=row.id,
            automation_id=automation_id, outcome=outcome, data={"name": row.name, **data},
        )  # fmt: skip
        self._audit.record(session, event)


def _values(secrets: Iterable[KindSecret]) -> list[str]:
    return [value for secret in secrets for value in secret.secret_values()]


def _grant_read(grant: CredentialGrantRow, automation: str) -> GrantRead:
    return GrantRead(
        automation=automation, granted_by=grant.granted_by, granted_at=grant.granted_at,
        last_used_at=grant.last_used_at, revoked_at=grant.revoked_at,
    )  # fmt: skip


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise Invalid(
            f"{name!r} is not a credential name: 2 to 63 lowercase letters, digits and '-', "
            "starting with a letter",
            code="invalid_name",
        )


def _check_period(days: int | None) -> None:
    if days is not None and not 1 <= days <= MAX_PERIOD_DAYS:
        raise Invalid(
            f"the rotation period is 1 to {MAX_PERIOD_DAYS} days", code="invalid_rotation_period"
        )


def _exists(name: str) -> Conflict:
    return Conflict(f"a credential named {name!r} already exists", code="credential_exists")


def _label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.name or actor.id or '-'}"
