"""Recording, reading and verifying audit events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from bastion import codec
from bastion.audit.chain import AuditChain, Verification, verify_events
from bastion.audit.events import AuditEvent
from bastion.audit.export import write_export
from bastion.audit.models import AuditEventRow, AuditHeadRow
from bastion.clock import Clock
from bastion.crypto import DataKey
from bastion.errors import NotFound
from bastion.ids import new_id
from bastion.store.datakeys import Sealer
from bastion.store.db import Database
from bastion.store.writer import Changes

KEY_PURPOSE = "audit"


class AuditLog:
    def __init__(self, db: Database, sealer: Sealer, clock: Clock) -> None:
        self._db = db
        self._sealer = sealer
        self._clock = clock
        self._chain = AuditChain()
        self._key: DataKey | None = None

    def prepare(self) -> None:
        """Make the audit data key before any write transaction needs it."""
        self._key = self._sealer.shared_key(KEY_PURPOSE, self._clock.now())

    def record(self, session: Session, *events: AuditEvent) -> None:
        """Append events inside ``session``'s transaction: they commit with the change."""
        now = self._clock.now()
        self._chain.append(session.connection(), [self.to_row(e, now) for e in events])

    def append_batch(self, conn: Connection, batch: list[Changes]) -> None:
        """The commit writer's hook: chain the audit events of a whole batch."""
        now = self._clock.now()
        rows = [self.to_row(e, now) for c in batch for e in c.extra if isinstance(e, AuditEvent)]
        self._chain.append(conn, rows)

    def to_row(self, event: AuditEvent, now: datetime) -> dict[str, Any]:
        event_id = new_id()
        sealed = None
        if event.sealed is not None:
            sealed = self._sealer.seal(self._audit_key(), codec.dumps(event.sealed), _aad(event_id))
        return {
            "id": event_id,
            "occurred_at": now,
            "tag": str(event.tag),
            "actor_kind": event.actor.kind,
            "actor_id": event.actor.id,
            "actor_name": event.actor.name,
            "subject_kind": event.subject_kind,
            "subject_id": event.subject_id,
            "automation_id": event.automation_id,
            "outcome": event.outcome,
            "correlation_id": event.correlation_id,
            "ip": event.ip,
            "data": codec.dumps_str(event.data),
            "sealed": sealed,
        }

    def _audit_key(self) -> DataKey:
        if self._key is None:
            raise RuntimeError("AuditLog.prepare() was not called at start-up")
        return self._key

    def open_sealed(self, row: AuditEventRow) -> dict[str, Any] | None:
        if row.sealed is None:
            return None
        return codec.loads(self._sealer.open(row.sealed, _aad(row.id)))  # type: ignore[no-any-return]

    def verify(self) -> Verification:
        with self._db.reader() as session:
            head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash)).one()
            return verify_events(_stream(session), head=(head.seq, head.hash))

    def list(
        self,
        *,
        tag: str | None = None,
        subject_id: str | None = None,
        automation_id: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[AuditEventRow]:
        stmt = select(AuditEventRow).where(AuditEventRow.seq > after)
        if tag:
            stmt = stmt.where(AuditEventRow.tag.startswith(tag))
        if subject_id:
            stmt = stmt.where(AuditEventRow.subject_id == subject_id)
        if automation_id:
            stmt = stmt.where(AuditEventRow.automation_id == automation_id)
        with self._db.reader() as session:
            return list(session.scalars(stmt.order_by(AuditEventRow.seq).limit(limit)))

    def get(self, seq: int) -> AuditEventRow:
        with self._db.reader() as session:
            row = session.get(AuditEventRow, seq)
        if row is None:
            raise NotFound(f"audit event {seq} not found")
        return row

    def head(self) -> tuple[int, str]:
        with self._db.reader() as session:
            head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash)).one()
        return int(head.seq), str(head.hash)

    def export(self) -> Iterator[dict[str, Any]]:
        """Every event as a plain dict, in chain order: verifiable offline."""
        with self._db.reader() as session:
            yield from _stream(session)

    def export_to(self, out: IO[str]) -> int:
        """Write the log up to its current head, with the head as a trailer line."""
        head = self.head()
        events = (row for row in self.export() if row["seq"] <= head[0])
        return write_export(events, head, out)


def _aad(event_id: str) -> bytes:
    return b"audit:" + event_id.encode()


def _stream(session: Session, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    table = AuditEventRow.__table__
    after = 0
    while True:
        rows = (
            session.execute(
                select(table).where(table.c.seq > after).order_by(table.c.seq).limit(chunk)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield dict(row)
        after = rows[-1]["seq"]
