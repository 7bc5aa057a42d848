"""Leases: a credential handed to one step of one execution, at run time.

A lease is granted only while the automation holds a live grant for a credential
that is not revoked, and always carries the active version. Every lease and every
refusal is an audit event, committed through the group-commit writer *before* the
step gets the value (or the refusal), so no secret is used without a record.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.clock import Clock
from bastion.store.base import table_of
from bastion.store.datakeys import Sealer
from bastion.store.db import Database
from bastion.store.writer import Changes, CommitWriter
from bastion.vault.errors import CredentialNotGranted
from bastion.vault.kinds import Kind, KindSecret, parse_secret
from bastion.vault.models import CredentialGrantRow, CredentialRow, CredentialVersionRow

GRANTS = table_of(CredentialGrantRow)
PREFIX = "cred:"


def bare_name(name: str) -> str:
    """``cred:bank-api`` and ``bank-api`` name the same credential."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name


def version_aad(credential_id: str, version: int) -> bytes:
    return f"credential:{credential_id}:{version}".encode()


@dataclass(frozen=True)
class Lease:
    """A credential's active version, in clear, for one step. Never stored or logged."""

    credential: str
    kind: Kind
    version: int
    secret: KindSecret = field(repr=False)

    def values(self) -> dict[str, Any]:
        """Every field of the secret in clear, e.g. ``{"token": ...}`` for a bearer."""
        return self.secret.reveal()

    def secret_values(self) -> list[str]:
        return self.secret.secret_values()


@dataclass(frozen=True)
class Use:
    """Who asks for a credential: which automation, in which execution and step."""

    automation_id: str
    execution_id: str
    step_id: str
    automation_name: str | None = None
    correlation_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor("automation", self.automation_id, self.automation_name)

    @property
    def automation(self) -> str:
        return self.automation_name or self.automation_id


@dataclass(frozen=True)
class _Found:
    credential_id: str | None = None
    kind: str = ""
    version: int = 0
    grant_id: str | None = None
    refusal: str | None = None  # "no_grant" | "revoked"
    sealed: str = ""


class LeaseDesk:
    def __init__(self, db: Database, sealer: Sealer, writer: CommitWriter, clock: Clock) -> None:
        self._db, self._sealer, self._writer, self._clock = db, sealer, writer, clock

    async def lease(self, use: Use, name: str) -> Lease:
        """The active version of ``name`` for ``use``. Raises CredentialNotGranted
        (audited) when the grant is missing or revoked, or the credential is revoked."""
        name = bare_name(name)
        found, secret = await asyncio.to_thread(self._lookup_and_open, use.automation_id, name)
        if secret is None:
            await self._deny(use, name, found)
        assert secret is not None and found.grant_id is not None
        changes = Changes().update(GRANTS, found.grant_id, {"last_used_at": self._clock.now()})
        data = {"credential": name, "version": found.version}
        changes.extra.append(_event(AuditTag.VAULT_CREDENTIAL_LEASED, use, found, data))
        await self._writer.submit(changes)
        return Lease(name, Kind(found.kind), found.version, secret)

    async def check(self, use: Use, names: frozenset[str]) -> None:
        """Refuse (audited) unless ``use`` may lease every credential in ``names``."""
        for name in sorted(bare_name(n) for n in names):
            found = await asyncio.to_thread(self._lookup, use.automation_id, name)
            if found.refusal is not None:
                await self._deny(use, name, found)

    async def _deny(self, use: Use, name: str, found: _Found) -> None:
        assert found.refusal is not None
        data = {"credential": name, "reason": found.refusal}
        event = _event(AuditTag.VAULT_CREDENTIAL_DENIED, use, found, data, outcome="denied")
        await self._writer.submit(Changes(extra=[event]))
        raise CredentialNotGranted(name, use.automation, found.refusal)

    def _lookup(self, automation_id: str, name: str) -> _Found:
        c, g, v = CredentialRow, CredentialGrantRow, CredentialVersionRow
        stmt = (
            select(c.id, c.kind, c.revoked_at, c.current_version, g.id.label("grant_id"),
                   g.revoked_at.label("grant_revoked_at"), v.secret)
            .select_from(c)
            .outerjoin(g, and_(g.credential_id == c.id, g.automation_id == automation_id))
            .join(v, and_(v.credential_id == c.id, v.version == c.current_version))
            .where(c.name == name)
        )  # fmt: skip
        with self._db.reader() as session:
            row = session.execute(stmt).one_or_none()
        if row is None:
            return _Found(refusal="no_grant")
        refusal = _refusal(row)
        return _Found(row.id, row.kind, row.current_version, row.grant_id, refusal, row.secret)

    def _lookup_and_open(self, automation_id: str, name: str) -> tuple[_Found, KindSecret | None]:
        """One trip to a worker thread: the row, and the value only when it may be leased."""
        found = self._lookup(automation_id, name)
        return found, None if found.refusal is not None else self._open(found)

    def _open(self, found: _Found) -> KindSecret:
        assert found.credential_id is not None
        plain = self._sealer.open(found.sealed, version_aad(found.credential_id, found.version))
        return parse_secret(Kind(found.kind), codec.loads(plain))


def _refusal(row: Any) -> str | None:
    if row.revoked_at is not None:
        return "revoked"
    if row.grant_id is None or row.grant_revoked_at is not None:
        return "no_grant"
    return None


def _event(
    tag: AuditTag, use: Use, found: _Found, data: dict[str, Any], *, outcome: str = "success"
) -> AuditEvent:
    return AuditEvent(
        tag, use.actor, subject_kind="credential", subject_id=found.credential_id,
        automation_id=use.automation_id, outcome=outcome, correlation_id=use.correlation_id,
        data={**data, "execution": use.execution_id, "step": use.step_id},
    )  # fmt: skip
