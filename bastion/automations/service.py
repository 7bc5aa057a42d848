"""Applying, reading and switching automations. Every change is audited in its transaction."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditLog, AuditTag
from bastion.automations.definition import Definition
from bastion.automations.diff import Change, diff
from bastion.automations.errors import AutomationNotFound
from bastion.automations.models import AutomationRow, AutomationVersionRow
from bastion.clock import Clock
from bastion.crypto import sha256_hex
from bastion.errors import NotFound
from bastion.ids import new_id
from bastion.store.datakeys import DataKeyRow, Sealer
from bastion.store.db import Database


@dataclass(frozen=True)
class ApplyResult:
    name: str
    version: int
    outcome: Literal["created", "updated", "unchanged"]
    changes: list[Change]


@dataclass(frozen=True)
class Current:
    """What the engine runs: an automation's row and its current definition."""

    id: str
    name: str
    version: int
    enabled: bool
    definition: Definition


def digest(document: dict[str, Any]) -> str:
    return sha256_hex(codec.canonical(document))


class AutomationService:
    def __init__(self, db: Database, sealer: Sealer, audit: AuditLog, clock: Clock) -> None:
        self._db = db
        self._sealer = sealer
        self._audit = audit
        self._clock = clock
        self._cache: dict[str, Current] = {}
        self._lock = threading.Lock()

    # -- writes -------------------------------------------------------------

    def apply(self, defn: Definition, actor: Actor) -> ApplyResult:
        """Store ``defn`` as a new immutable version, unless it is unchanged."""
        document = defn.document()
        with self._db.transaction() as session:
            row = session.scalar(select(AutomationRow).where(AutomationRow.name == defn.name))
            if row is None:
                result = self._create(session, defn, document, actor)
            else:
                result = self._update(session, row, defn, document, actor)
        self._forget(defn.name)
        return result

    def _create(
        self, session: Session, defn: Definition, document: dict[str, Any], actor: Actor
    ) -> ApplyResult:
        now = self._clock.now()
        key, key_row = self._sealer.new_key("automation", now)
        session.add(DataKeyRow(**key_row))
        row = AutomationRow(
            id=new_id(), name=defn.name, owner=defn.owner, sensitivity=defn.sensitivity,
            trigger_kind=defn.trigger.kind, enabled=True, current_version=1,
            data_key_id=key.id, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        self._add_version(session, row, 1, document, actor, now)
        changes = diff(None, document)
        self._record(session, AuditTag.AUTOMATION_CREATED, row, actor, 1, changes)
        return ApplyResult(defn.name, 1, "created", changes)

    def _update(
        self,
        session: Session,
        row: AutomationRow,
        defn: Definition,
        document: dict[str, Any],
        actor: Actor,
    ) -> ApplyResult:
        previous = self._version_document(session, row, row.current_version)
        if digest(previous) == digest(document):
            return ApplyResult(defn.name, row.current_version, "unchanged", [])
        now = self._clock.now()
        version = row.current_version + 1
        self._add_version(session, row, version, document, actor, now)
        row.current_version, row.updated_at = version, now
        row.owner, row.sensitivity, row.trigger_kind = (
            defn.owner,
            defn.sensitivity,
            defn.trigger.kind,
        )
        changes = diff(previous, document)
        self._record(session, AuditTag.AUTOMATION_APPLIED, row, actor, version, changes)
        return ApplyResult(defn.name, version, "updated", changes)

    def _add_version(
        self,
        session: Session,
        row: AutomationRow,
        version: int,
        document: dict[str, Any],
        actor: Actor,
        now: datetime,
    ) -> None:
        version_id = new_id()
        sealed = self._sealer.seal(
            self._sealer.key(row.data_key_id), codec.dumps(document), _aad(row.id, version)
        )
        session.add(
            AutomationVersionRow(
                id=version_id, automation_id=row.id, version=version, digest=digest(document),
                definition=sealed, created_at=now, created_by=_actor_label(actor),
            )
        )  # fmt: skip

    def _record(
        self,
        session: Session,
        tag: AuditTag,
        row: AutomationRow,
        actor: Actor,
        version: int,
        changes: list[Change],
    ) -> None:
        event = AuditEvent(
            tag, actor, subject_kind="automation", subject_id=row.id, automation_id=row.id,
            data={"name": row.name, "version": version, "paths": [c.path for c in changes]},
            sealed={"diff": [c.as_dict() for c in changes]},
        )  # fmt: skip
        self._audit.record(session, event)

    def set_enabled(self, name: str, enabled: bool, actor: Actor) -> bool:
        """Enable or disable; returns whether anything changed."""
        with self._db.transaction() as session:
            row = self._row(session, name)
            if row.enabled == enabled:
                return False
            session.execute(
                update(AutomationRow)
                .where(AutomationRow.id == row.id)
                .values(enabled=enabled, updated_at=self._clock.now())
            )
            tag = AuditTag.AUTOMATION_ENABLED if enabled else AuditTag.AUTOMATION_DISABLED
            event = AuditEvent(
                tag, actor, subject_kind="automation", subject_id=row.id, automation_id=row.id,
                data={"name": name, "version": row.current_version},
            )  # fmt: skip
            self._audit.record(session, event)
        self._forget(name)
        return True

    # -- reads --------------------------------------------------------------

    def all(self) -> list[AutomationRow]:
        with self._db.reader() as session:
            return list(session.scalars(select(AutomationRow).order_by(AutomationRow.name)))

    def get(self, name: str) -> AutomationRow:
        with self._db.reader() as session:
            return self._row(session, name)

    def definition(self, name: str, version: int | None = None) -> Definition:
        with self._db.reader() as session:
            row = self._row(session, name)
            document = self._version_document(session, row, version or row.current_version)
        return Definition.model_validate(document)

    def versions(self, name: str) -> list[AutomationVersionRow]:
        with self._db.reader() as session:
            row = self._row(session, name)
            stmt = (
                select(AutomationVersionRow)
                .where(AutomationVersionRow.automation_id == row.id)
                .order_by(AutomationVersionRow.version)
            )
            return list(session.scalars(stmt))

    def diff_versions(self, name: str, old: int, new: int) -> list[Change]:
        with self._db.reader() as session:
            row = self._row(session, name)
            before = self._version_document(session, row, old)
            after = self._version_document(session, row, new)
        return diff(before, after)

    def current(self, name: str) -> Current:
        """The current version of ``name``, cached until the next change through this service."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        with self._db.reader() as session:
            row = self._row(session, name)
            document = self._version_document(session, row, row.current_version)
        current = Current(
            row.id, row.name, row.current_version, row.enabled, Definition.model_validate(document)
        )
        with self._lock:
            self._cache[name] = current
        return current

    def at_version(self, automation_id: str, version: int) -> Current:
        """A specific version by automation id (executions resume on the version they began)."""
        with self._db.reader() as session:
            row = session.get(AutomationRow, automation_id)
            if row is None:
                raise NotFound(f"no automation with id {automation_id}")
            document = self._version_document(session, row, version)
        return Current(row.id, row.name, version, row.enabled, Definition.model_validate(document))

    def name_of(self, automation_id: str) -> str:
        with self._db.reader() as session:
            name = session.scalar(
                select(AutomationRow.name).where(AutomationRow.id == automation_id)
            )
        if name is None:
            raise NotFound(f"no automation with id {automation_id}")
        return name

    def refresh(self) -> None:
        """Drop cached definitions (another process may have changed them)."""
        with self._lock:
            self._cache.clear()

    def _forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)

    def _row(self, session: Session, name: str) -> AutomationRow:
        row = session.scalar(select(AutomationRow).where(AutomationRow.name == name))
        if row is None:
            raise AutomationNotFound(name)
        return row

    def _version_document(self, session: Session, row: AutomationRow, version: int) -> Any:
        sealed = session.scalar(
            select(AutomationVersionRow.definition).where(
                AutomationVersionRow.automation_id == row.id,
                AutomationVersionRow.version == version,
            )
        )
        if sealed is None:
            raise NotFound(f"{row.name} has no version {version}")
        return codec.loads(self._sealer.open(sealed, _aad(row.id, version)))


def _aad(automation_id: str, version: int) -> bytes:
    return f"automation:{automation_id}:{version}".encode()


def _actor_label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.name or actor.id or '-'}"
