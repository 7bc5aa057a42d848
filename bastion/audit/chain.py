"""The hash chain: how an event's hash is computed, appended and verified."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bastion.audit.models import AuditEventRow, AuditHeadRow
from bastion.codec import canonical
from bastion.crypto import sha256_hex

GENESIS = "0" * 64

# The fields a hash covers, in the order they are named here; changing this list
# breaks every existing chain, so new fields need a new format version.
HASHED = (
    "seq", "id", "occurred_at", "tag", "actor_kind", "actor_id", "actor_name",
    "subject_kind", "subject_id", "automation_id", "outcome", "correlation_id",
    "ip", "data", "sealed", "prev_hash",
)  # fmt: skip


def event_hash(row: Mapping[str, Any]) -> str:
    fields = {name: row.get(name) for name in HASHED}
    fields["occurred_at"] = _timestamp(row["occurred_at"])
    return sha256_hex(canonical(fields))


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditChain:
    """Appends rows to the chain inside the caller's transaction.

    The head row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite write
    transactions already hold the database lock), so two transactions can never
    link to the same predecessor.
    """

    table = AuditEventRow.__table__

    def append(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        head = conn.execute(
            select(AuditHeadRow.seq, AuditHeadRow.hash)
            .where(AuditHeadRow.id == 1)
            .with_for_update()
        ).one()
        seq, prev = head.seq, head.hash
        for row in rows:
            seq += 1
            row["seq"], row["prev_hash"] = seq, prev
            prev = row["hash"] = event_hash(row)
        conn.execute(insert(AuditEventRow), rows)
        conn.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=seq, hash=prev))


@dataclass(frozen=True)
class Breach:
    """The first place the chain does not hold."""

    seq: int
    event_id: str | None
    reason: str


@dataclass(frozen=True)
class Verification:
    checked: int
    last_seq: int
    breach: Breach | None

    @property
    def ok(self) -> bool:
        return self.breach is None


def verify_events(
    rows: Iterable[Mapping[str, Any]], *, head: tuple[int, str] | None = None
) -> Verification:
    """Walk events in stored order; report the first edit, gap, insertion or reordering.

    ``head`` (seq, hash), when given, must match the last event: it catches
    events deleted from the end of the log.
    """
    expected_seq, prev, checked = 1, GENESIS, 0
    for row in rows:
        breach = _check(row, expected_seq, prev)
        if breach is not None:
            return Verification(checked, expected_seq - 1, breach)
        expected_seq, prev, checked = row["seq"] + 1, row["hash"], checked + 1
    if head is not None and (head[0] != expected_seq - 1 or head[1] != prev):
        breach = Breach(
            expected_seq, None, f"the log ends at {expected_seq - 1} but its head says {head[0]}"
        )
        return Verification(checked, expected_seq - 1, breach)
    return Verification(checked, expected_seq - 1, None)


def _check(row: Mapping[str, Any], expected_seq: int, prev: str) -> Breach | None:
    seq, event_id = row["seq"], row.get("id")
    if seq != expected_seq:
        what = "missing" if seq > expected_seq else "out of order"
        return Breach(expected_seq, event_id, f"event {expected_seq} is {what} (found {seq})")
    if row["prev_hash"] != prev:
        return Breach(seq, event_id, "does not link to the event before it")
    if event_hash(row) != row["hash"]:
        return Breach(seq, event_id, "its content does not match its hash (edited)")
    return None
