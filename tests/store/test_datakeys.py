"""ENC-2: envelope encryption. Values are sealed under data keys kept in
``data_keys``, wrapped by the KEK; rotating the KEK re-wraps those rows only, can
be resumed after a crash, and deleting a row shreds every value sealed under it."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, select

from bastion.app import Services
from bastion.audit import Actor, AuditEvent, AuditEventRow, AuditLog, AuditTag
from bastion.crypto import DataKey, KeyFile, Keyring, KeyUnavailable, TamperedCiphertext
from bastion.store.datakeys import DataKeyRow, Sealer, count_by_kek, rewrap

Value = tuple[str, bytes, bytes]  # (sealed, aad, plaintext)


class _Crash(Exception):
    """Stands for the process dying in the middle of a re-wrap."""


@dataclass
class _CrashingKeyring(Keyring):
    """A keyring whose process dies after ``wraps_left`` more wraps."""

    wraps_left: int = 1

    def wrap(self, data_key: DataKey) -> str:
        if self.wraps_left == 0:
            raise _Crash("simulated crash during rewrap")
        self.wraps_left -= 1
        return super().wrap(data_key)


def _seal_values(services: Services, count: int) -> list[Value]:
    """``count`` values, each under its own new data key (one per record group)."""
    now, values = services.clock.now(), []
    with services.db.transaction() as session:
        for i in range(count):
            key, row = services.sealer.new_key("test", now)
            session.add(DataKeyRow(**row))
            aad, plain = f"test:value:{i}".encode(), f"payload {i}".encode()
            values.append((services.sealer.seal(key, plain, aad), aad, plain))
    return values


def _assert_all_open(sealer: Sealer, values: list[Value]) -> None:
    assert [sealer.open(sealed, aad) for sealed, aad, _ in values] == [p for _, _, p in values]


def _rows(services: Services) -> list[tuple[str, str, str]]:
    with services.db.reader() as session:
        stmt = select(DataKeyRow.id, DataKeyRow.kek_id, DataKeyRow.wrapped).order_by(DataKeyRow.id)
        return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def _by_kek(services: Services) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, kek_id, _ in _rows(services):
        counts[kek_id] = counts.get(kek_id, 0) + 1
    return counts


def _only(ring: Keyring, kek_id: str) -> Keyring:
    return Keyring({kek_id: ring.keys[kek_id]}, kek_id)


def _rotate_key_file(services: Services) -> tuple[str, str, Keyring]:
    """Add a KEK to the key file, as ``keys rotate`` does; (old id, new id, both-key ring)."""
    key_file = KeyFile(services.settings.key_file)
    old = services.keyring.active
    new = key_file.add_key()
    return old, new, key_file.load()


def test_a_fresh_sealer_opens_values_with_keys_loaded_from_the_database(
    services: Services,
) -> None:
    values = _seal_values(services, 3)
    fresh = Sealer(services.db, services.keyring)  # empty cache: every key comes from the DB
    _assert_all_open(fresh, values)
    sealed, aad, _ = values[0]
    with pytest.raises(TamperedCiphertext):
        fresh.open(sealed, aad + b"-elsewhere")


def test_data_key_rows_hold_only_wrapped_keys_naming_their_kek(services: Services) -> None:
    values = _seal_values(services, 2)
    active = services.keyring.active
    by_id = {row[0]: row for row in _rows(services)}
    for sealed, _, _ in values:
        key_id = sealed.split(":")[1]
        _, kek_id, wrapped = by_id[key_id]
        assert kek_id == active
        assert wrapped.startswith(f"v1:{active}:")
        raw = services.sealer.key(key_id).key
        assert base64.b64encode(raw).decode() not in wrapped and raw.hex() not in wrapped


def test_without_the_kek_no_value_opens(services: Services) -> None:
    values = _seal_values(services, 1)
    stranger = Sealer(services.db, Keyring({"kek-other": bytes(32)}, "kek-other"))
    with pytest.raises(KeyUnavailable) as caught:
        stranger.open(values[0][0], values[0][1])
    assert caught.value.key_id == services.keyring.active


def test_rewrap_moves_every_data_key_to_the_new_kek(services: Services) -> None:
    values = _seal_values(services, 5)
    with services.db.transaction() as session:
        services.audit.record(
            session,
            AuditEvent(AuditTag.AUTOMATION_APPLIED, Actor("cli"), sealed={"diff": "before"}),
        )
    before = _rows(services)
    total = len(before)
    assert total >= 6  # ours, plus the audit key
    old, new, ring = _rotate_key_file(services)
    assert _by_kek(services) == {old: total}

    assert rewrap(services.db, ring, batch=2) == total
    assert _by_kek(services) == {new: total}
    after = _rows(services)
    assert [r[0] for r in after] == [r[0] for r in before]  # same keys, new wrapping
    assert all(wrapped.startswith(f"v1:{new}:") for _, _, wrapped in after)
    assert rewrap(services.db, ring, batch=2) == 0  # idempotent

    new_only = Sealer(services.db, _only(ring, new))
    _assert_all_open(new_only, values)
    audit = AuditLog(services.db, new_only, services.clock)
    with services.db.reader() as session:
        event = session.scalars(select(AuditEventRow)).one()
    assert audit.open_sealed(event) == {"diff": "before"}
    assert services.audit.verify().ok  # sealed values (and their hashes) never changed


def test_an_interrupted_rewrap_is_finished_by_the_next_run(services: Services) -> None:
    values = _seal_values(services, 4)
    total = len(_rows(services))
    old, new, ring = _rotate_key_file(services)
    crashing = _CrashingKeyring(ring.keys, ring.active, wraps_left=1)

    with pytest.raises(_Crash):
        rewrap(services.db, crashing, batch=1)
    assert _by_kek(services) == {new: 1, old: total - 1}  # first batch committed
    _assert_all_open(Sealer(services.db, ring), values)  # nothing unreadable meanwhile

    assert rewrap(services.db, ring, batch=1) == total - 1
    assert _by_kek(services) == {new: total}
    _assert_all_open(Sealer(services.db, _only(ring, new)), values)


def test_a_crash_inside_a_batch_commits_none_of_it(services: Services) -> None:
    _seal_values(services, 4)
    total = len(_rows(services))
    old, new, ring = _rotate_key_file(services)
    with pytest.raises(_Crash):
        rewrap(services.db, _CrashingKeyring(ring.keys, ring.active, wraps_left=3), batch=2)
    assert _by_kek(services) == {new: 2, old: total - 2}


def test_a_running_sealer_follows_a_rotation_done_elsewhere(services: Services) -> None:
    values = _seal_values(services, 2)
    key_file = KeyFile(services.settings.key_file)
    old, new, ring = _rotate_key_file(services)
    rewrap(services.db, ring)
    key_file.retire(old)
    # A server started before the rotation holds only the old KEK.
    running = Sealer(services.db, _only(ring, old), reload=key_file.load)
    _assert_all_open(running, values)
    assert (running.keyring.active, list(running.keyring.keys)) == (new, [new])


def test_deleting_a_data_key_shreds_its_values(services: Services) -> None:
    values = _seal_values(services, 3)
    shredded = values[1][0].split(":")[1]
    with services.db.transaction() as session:
        session.execute(delete(DataKeyRow).where(DataKeyRow.id == shredded))
    fresh = Sealer(services.db, services.keyring)
    with pytest.raises(KeyUnavailable, match=shredded) as caught:
        fresh.open(values[1][0], values[1][1])
    assert caught.value.key_id == shredded
    _assert_all_open(fresh, [values[0], values[2]])  # the others are untouched

    services.sealer.forget(shredded)  # a running process drops its cached copy
    with pytest.raises(KeyUnavailable):
        services.sealer.open(values[1][0], values[1][1])


def test_count_by_kek_counts_data_keys_per_kek(services: Services) -> None:
    # `keys rotate` decides from these counts whether a rotation is half done.
    _seal_values(services, 3)
    old, new, ring = _rotate_key_file(services)
    total = len(_rows(services))
    with pytest.raises(_Crash):
        rewrap(services.db, _CrashingKeyring(ring.keys, ring.active, wraps_left=1), batch=1)
    assert count_by_kek(services.db) == {old: total - 1, new: 1}
