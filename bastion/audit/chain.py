"""The hash chain: how an event's hash is computed, appended and verified."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

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

    # Built once: this runs in every commit that records anything.
    _head = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)
    _head = _head.with_for_update()
    _insert = insert(AuditEventRow)
    _advance = (
        update(AuditHeadRow)
        .where(AuditHeadRow.id == 1)
        .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
    )

    def append(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        head = conn.execute(self._head).one()
        seq, prev = head.seq, head.hash
        for row in rows:
            seq += 1
            row["seq"], row["prev_hash"] = seq, prev
            prev = row["hash"] = event_hash(row)
        conn.execute(self._insert, rows)
        conn.execute(self._advance, {"new_seq": seq, "new_hash": prev})


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

    ``head`` (seq, hash), when given, is where the chain must end: it catches events
    deleted from the end of the log, and events appended past it (a forger can
    compute a valid hash, since hashing needs no key, but cannot move the head
    without also being caught by the head's own check).
    """
    expected_seq, prev, checked = 1, GENESIS, 0
    for row in rows:
        breach = _check(row, expected_seq, prev) or _past_head(row, head)
        if breach is not None:
            return Verification(checked, expected_seq - 1, breach)
        expected_seq, prev, checked = row["seq"] + 1, row["hash"], checked + 1
    if head is not None and head[0] != expected_seq - 1:
        reason = f"the log ends at {expected_seq - 1} but its head says {head[0]}"
        return Verification(checked, expected_seq - 1, Breach(expected_seq, None, reason))
    return Verification(checked, expected_seq - 1, None)


def _check(row: Mapping[str, Any], expected_seq: int, prev: str) -> Breach | None:
    seq, event_id = row["seq"], row.get("id")
    if seq > expected_seq:
        return Breach(expected_seq, None, f"event {expected_seq} is missing (found {seq} next)")
    if seq < expected_seq:
        return Breach(expected_seq, event_id, f"event {seq} is out of order")
    if row["prev_hash"] != prev:
        return Breach(seq, event_id, "does not link to the event before it")
    if event_hash(row) != row["hash"]:
        return Breach(seq, event_id, "its content does not match its hash (edited)")
    return None


def _past_head(row: Mapping[str, Any], head: tuple[int, str] | None) -> Breach | None:
    if head is None:
        return None
    if row["seq"] > head[0]:
        return Breach(row["seq"], row.get("id"), "it lies past the chain's head (inserted)")
    if row["seq"] == head[0] and row["hash"] != head[1]:
        return Breach(row["seq"], row.get("id"), "its hash differs from the chain's head (edited)")
    return None
