"""AUD-6: the audit log is hash-chained. Any edit, deletion, insertion or
reordering done straight in the database breaks ``verify`` at exactly the first
bad event; exports verify offline; sealed details are ciphertext at rest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, text

from bastion import codec
from bastion.app import Services
from bastion.audit import Actor, AuditEvent, AuditEventRow, AuditHeadRow, AuditTag, verify_events
from bastion.audit.chain import GENESIS, event_hash
from bastion.clock import FrozenClock
from bastion.crypto import TamperedCiphertext
from bastion.ids import new_id

COUNT = 5
ACTOR = Actor("cli", None, "tester")


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        AuditTag.AUTOMATION_APPLIED, ACTOR, subject_kind="automation", subject_id=f"auto-{i}",
        data={"n": i}, sealed={"diff": f"SECRET-DIFF-{i}"}, correlation_id=f"cid-{i}",
    )  # fmt: skip


@pytest.fixture
def events(services: Services, clock: FrozenClock) -> list[AuditEventRow]:
    """Five events, each recorded in its own transaction, one second apart."""
    for i in range(1, COUNT + 1):
        with services.db.transaction() as session:
            services.audit.record(session, _event(i))
        clock.advance(1)
    rows = services.audit.list()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    return rows


def _sql(services: Services, statement: str, **params: Any) -> None:
    with services.db.transaction() as session:
        session.execute(text(statement), params)


def _breach(services: Services) -> tuple[int, str | None, str]:
    result = services.audit.verify()
    assert not result.ok
    assert result.breach is not None
    return result.breach.seq, result.breach.event_id, result.breach.reason


def _forged(seq: int, prev_hash: str, services: Services) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": seq, "id": new_id(), "occurred_at": services.clock.now(),
        "tag": "automations:automation:enabled", "actor_kind": "cli", "actor_id": None,
        "actor_name": "tester", "subject_kind": None, "subject_id": None, "automation_id": None,
        "outcome": "success", "correlation_id": None, "ip": None, "data": "{}", "sealed": None,
        "prev_hash": prev_hash,
    }  # fmt: skip
    row["hash"] = event_hash(row)
    return row


def _insert(services: Services, row: dict[str, Any]) -> None:
    with services.db.transaction() as session:
        session.execute(insert(AuditEventRow), [row])


# -- the intact chain -----------------------------------------------------------------


def test_an_intact_chain_verifies(services: Services, events: list[AuditEventRow]) -> None:
    result = services.audit.verify()
    assert (result.ok, result.checked, result.last_seq, result.breach) == (True, 5, 5, None)
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    with services.db.reader() as session:
        head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash)).one()
    assert (head.seq, head.hash) == (5, events[-1].hash)


def test_an_empty_log_verifies(services: Services) -> None:
    result = services.audit.verify()
    assert (result.ok, result.checked, result.last_seq) == (True, 0, 0)


def test_events_recorded_together_get_consecutive_seqs(services: Services) -> None:
    with services.db.transaction() as session:
        services.audit.record(session, _event(1), _event(2), _event(3))
    assert [r.seq for r in services.audit.list()] == [1, 2, 3]
    assert services.audit.verify().ok


def test_events_of_a_rolled_back_transaction_leave_no_trace(services: Services) -> None:
    with pytest.raises(RuntimeError), services.db.transaction() as session:
        services.audit.record(session, _event(1))
        raise RuntimeError("the change failed")
    assert services.audit.list() == []
    with services.db.transaction() as session:
        services.audit.record(session, _event(2))
    assert [(r.seq, r.subject_id) for r in services.audit.list()] == [(1, "auto-2")]
    assert services.audit.verify().ok


# -- tampering in the database ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("tag", "automations:automation:disabled"),
        ("actor_name", "mallory"),
        ("outcome", "failure"),
        ("subject_id", "auto-99"),
        ("correlation_id", "cid-forged"),
        ("data", '{"n":99}'),
        ("hash", "f" * 64),
    ],
)
def test_an_edited_field_breaks_the_chain_at_that_event(
    services: Services, events: list[AuditEventRow], column: str, value: str
) -> None:
    _sql(services, f"UPDATE audit_events SET {column} = :v WHERE seq = 3", v=value)
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (3, events[2].id)
    assert "edited" in reason
    result = services.audit.verify()
    assert (result.checked, result.last_seq) == (2, 2)


def test_an_edited_timestamp_breaks_the_chain(
    services: Services, events: list[AuditEventRow]
) -> None:
    with services.db.transaction() as session:
        row = session.get(AuditEventRow, 3)
        assert row is not None
        row.occurred_at = events[0].occurred_at
    assert _breach(services)[:2] == (3, events[2].id)


def test_a_swapped_sealed_detail_breaks_the_chain_and_does_not_open(
    services: Services, events: list[AuditEventRow]
) -> None:
    _sql(services, "UPDATE audit_events SET sealed = :v WHERE seq = 3", v=events[0].sealed)
    assert _breach(services)[:2] == (3, events[2].id)
    with pytest.raises(TamperedCiphertext):
        services.audit.open_sealed(services.audit.get(3))  # bound to its own event id


def test_a_relinked_event_breaks_the_chain(services: Services, events: list[AuditEventRow]) -> None:
    _sql(services, "UPDATE audit_events SET prev_hash = :v WHERE seq = 3", v=events[0].hash)
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (3, events[2].id)
    assert "does not link" in reason


def test_a_deleted_event_is_named_by_its_seq(
    services: Services, events: list[AuditEventRow]
) -> None:
    _sql(services, "DELETE FROM audit_events WHERE seq = 3")
    seq, event_id, reason = _breach(services)
    # The first bad event is the missing event 3. Its id is gone with it, so the
    # breach must not name another event's id (event 4's) next to seq 3.
    assert (seq, event_id) == (3, None)
    assert "missing" in reason


def test_a_deleted_last_event_is_caught_by_the_head(
    services: Services, events: list[AuditEventRow]
) -> None:
    _sql(services, "DELETE FROM audit_events WHERE seq = 5")
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (5, None)
    assert "ends at 4" in reason and "head says 5" in reason
    result = services.audit.verify()
    assert (result.checked, result.last_seq) == (4, 4)


def test_a_forged_event_inserted_in_the_middle_is_named(
    services: Services, events: list[AuditEventRow]
) -> None:
    for seq in (5, 4, 3):  # make room at seq 3, one row at a time
        _sql(services, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    forged = _forged(3, events[1].hash, services)
    forged["hash"] = events[2].hash  # the forger reuses a plausible hash
    _insert(services, forged)
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (3, forged["id"])
    assert "edited" in reason


def test_a_forged_event_with_a_correct_hash_is_caught_after_it(
    services: Services, events: list[AuditEventRow]
) -> None:
    # A forger who recomputes the hash (it needs no key) makes event 3 look sound;
    # the event after it then no longer links, and that is where the chain breaks.
    for seq in (5, 4, 3):
        _sql(services, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _insert(services, _forged(3, events[1].hash, services))
    seq, event_id, _ = _breach(services)
    assert (seq, event_id) == (4, events[2].id)


def test_a_forged_event_appended_past_the_head_is_named(
    services: Services, events: list[AuditEventRow]
) -> None:
    forged = _forged(6, events[-1].hash, services)
    _insert(services, forged)  # links perfectly; only the head knows the log ended at 5
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (6, forged["id"])
    assert "head" in reason


def test_a_rehashed_edit_of_the_last_event_is_caught_by_the_head(
    services: Services, events: list[AuditEventRow]
) -> None:
    with services.db.reader() as session:
        row = dict(session.execute(select(AuditEventRow.__table__).where(
            AuditEventRow.seq == 5)).mappings().one())  # fmt: skip
    row["actor_name"] = "mallory"
    _sql(services, "UPDATE audit_events SET actor_name = 'mallory', hash = :h WHERE seq = 5",
         h=event_hash(row))  # fmt: skip
    seq, event_id, _ = _breach(services)
    assert (seq, event_id) == (5, events[4].id)


def test_swapped_events_are_caught_as_reordered(
    services: Services, events: list[AuditEventRow]
) -> None:
    _sql(services, "UPDATE audit_events SET seq = 1000 WHERE seq = 3")
    _sql(services, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    _sql(services, "UPDATE audit_events SET seq = 4 WHERE seq = 1000")
    seq, event_id, reason = _breach(services)
    assert (seq, event_id) == (3, events[3].id)  # event 4 now stands at seq 3
    assert "does not link" in reason


# -- offline, on an export --------------------------------------------------------


def test_an_export_verifies_offline(services: Services, events: list[AuditEventRow]) -> None:
    exported = list(services.audit.export())
    assert [(r["seq"], r["id"], r["hash"]) for r in exported] == [
        (e.seq, e.id, e.hash) for e in events
    ]
    services.db.dispose()  # offline: nothing below touches the database
    result = verify_events(exported)
    assert (result.ok, result.checked, result.last_seq) == (True, 5, 5)


def test_an_export_survives_a_json_round_trip(
    services: Services, events: list[AuditEventRow]
) -> None:
    lines = [codec.dumps_str(_jsonable(r)) for r in services.audit.export()]
    result = verify_events(codec.loads(line) for line in lines)
    assert (result.ok, result.checked) == (True, 5)


def test_an_edit_in_an_export_is_named(services: Services, events: list[AuditEventRow]) -> None:
    exported = [_jsonable(r) for r in services.audit.export()]
    exported[2]["outcome"] = "denied"
    result = verify_events(exported)
    assert result.breach is not None
    assert (result.breach.seq, result.breach.event_id, result.last_seq) == (3, events[2].id, 2)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "occurred_at": row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


# -- sealed details ---------------------------------------------------------------


def test_sealed_details_are_ciphertext_in_the_table(
    services: Services, events: list[AuditEventRow]
) -> None:
    with services.db.reader() as session:
        raw = session.execute(text("SELECT seq, data, sealed FROM audit_events ORDER BY seq")).all()
    audit_key = services.sealer.shared_key("audit", services.clock.now()).id
    for seq, data, sealed in raw:
        assert f"SECRET-DIFF-{seq}" not in sealed and "SECRET-DIFF" not in data
        assert sealed.startswith(f"v1:{audit_key}:")
        assert codec.loads(data) == {"n": seq}
    assert [services.audit.open_sealed(e) for e in events] == [
        {"diff": f"SECRET-DIFF-{i}"} for i in range(1, COUNT + 1)
    ]


def test_an_event_without_sealed_details_opens_to_none(services: Services) -> None:
    with services.db.transaction() as session:
        services.audit.record(session, AuditEvent(AuditTag.TOKEN_CREATED, ACTOR))
    row = services.audit.get(1)
    assert (row.sealed, services.audit.open_sealed(row)) == (None, None)
