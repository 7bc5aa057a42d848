"""Data keys: generated per record group, wrapped by the KEK, kept in ``data_keys``.

Every sealed value names its data key; the data key row names the KEK that wraps
it. Rotating the KEK re-wraps these rows only (``rewrap``), so sealed values, and
the audit hashes computed over them, never change. Deleting a data key row
shreds every value sealed under it, in backups too once they age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from bastion.crypto import DataKey, Keyring, KeyUnavailable, open_sealed, seal, sealed_key_id
from bastion.ids import new_id
from bastion.store.base import Base
from bastion.store.db import Database


class DataKeyRow(Base):
    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), index=True)
    kek_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Sealer:
    """Seals and opens values under data keys, caching unwrapped keys in memory."""

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        *,
        reload: Callable[[], Keyring] | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self._db = db
        self.keyring = keyring
        self._reload = reload
        self._cache: OrderedDict[str, DataKey] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._shared: dict[str, DataKey] = {}

    def new_key(self, purpose: str, now: datetime) -> tuple[DataKey, dict[str, Any]]:
        """A fresh data key and the ``data_keys`` row the caller must write with its data."""
        key = DataKey.generate(new_id())
        row = {
            "id": key.id,
            "purpose": purpose,
            "kek_id": self.keyring.active,
            "wrapped": self.keyring.wrap(key),
            "created_at": now,
        }
        self._remember(key)
        return key, row

    def seal(self, key: DataKey, plaintext: bytes, aad: bytes) -> str:
        return seal(key, plaintext, aad)

    def open(self, sealed: str, aad: bytes) -> bytes:
        """Open a sealed value. Raises KeyUnavailable if its data key is gone."""
        return open_sealed(self.key(sealed_key_id(sealed)), sealed, aad)

    def key(self, key_id: str) -> DataKey:
        with self._lock:
            cached = self._cache.get(key_id)
            if cached is not None:
                self._cache.move_to_end(key_id)
                return cached
        with self._db.reader() as session:
            wrapped = session.scalar(select(DataKeyRow.wrapped).where(DataKeyRow.id == key_id))
        if wrapped is None:
            raise KeyUnavailable(key_id)
        try:
            key = self.keyring.unwrap(key_id, wrapped)
        except KeyUnavailable:
            # Another process may have rotated the KEK and re-wrapped this key.
            if not self.reload_keyring():
                raise
            key = self.keyring.unwrap(key_id, wrapped)
        self._remember(key)
        return key

    def reload_keyring(self) -> bool:
        """Pick up KEKs added or retired by ``bastion keys rotate``; True if anything changed."""
        if self._reload is None:
            return False
        fresh = self._reload()
        changed = fresh.active != self.keyring.active or set(fresh.keys) != set(self.keyring.keys)
        self.keyring = fresh
        return changed

    def shared_key(self, purpose: str, now: datetime) -> DataKey:
        """The one long-lived key of ``purpose`` (audit details, pepper), made on first use."""
        if purpose in self._shared:
            return self._shared[purpose]
        with self._db.transaction() as session:
            key_id = session.scalar(
                select(DataKeyRow.id).where(DataKeyRow.purpose == purpose).order_by(DataKeyRow.id)
            )
            if key_id is None:
                key, row = self.new_key(purpose, now)
                session.add(DataKeyRow(**row))
        key = self.key(key_id) if key_id is not None else key
        self._shared[purpose] = key
        return key

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)

    def _remember(self, key: DataKey) -> None:
        with self._lock:
            self._cache[key.id] = key
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def rewrap(db: Database, keyring: Keyring, *, batch: int = 500) -> int:
    """Re-wrap every data key not under the active KEK. Idempotent and resumable:
    each batch commits on its own, so an interrupted run is finished by the next."""
    done = 0
    while True:
        with db.transaction() as session:
            rows = _stale(session, keyring, batch)
            for key_id, wrapped in rows:
                fresh = keyring.wrap(keyring.unwrap(key_id, wrapped))
                session.execute(
                    update(DataKeyRow)
                    .where(DataKeyRow.id == key_id)
                    .values(wrapped=fresh, kek_id=keyring.active)
                )
        done += len(rows)
        if len(rows) < batch:
            return done


def _stale(session: Session, keyring: Keyring, batch: int) -> list[tuple[str, str]]:
    stmt = (
        select(DataKeyRow.id, DataKeyRow.wrapped)
        .where(DataKeyRow.kek_id != keyring.active)
        .order_by(DataKeyRow.id)
        .limit(batch)
    )
    return [(r.id, r.wrapped) for r in session.execute(stmt)]


def count_by_kek(db: Database) -> dict[str, int]:
    from sqlalchemy import func

    with db.reader() as session:
        rows = session.execute(select(DataKeyRow.kek_id, func.count()).group_by(DataKeyRow.kek_id))
        return {str(kek): int(n) for kek, n in rows}
