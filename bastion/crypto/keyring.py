"""Key-encryption keys (KEKs): loaded from a 0600 key file or the environment.

KEKs only ever wrap data keys; data is sealed under data keys. Rotating the KEK
therefore re-wraps a small table of data keys and never touches the data. The
key file keeps every KEK not yet retired, so values wrapped under the previous
KEK stay readable until the re-wrap has finished.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bastion.crypto.aead import DataKey, open_sealed, seal, sealed_key_id
from bastion.crypto.errors import CryptoError, KeyUnavailable

_FORMAT = 1


@dataclass
class Keyring:
    """The KEKs this process holds, and which one wraps new data keys."""

    keys: dict[str, bytes] = field(repr=False)
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise CryptoError("the active key is not in the keyring")
        # One AEAD object per KEK, made once: wrapping runs for every new execution.
        self._keks = {kid: DataKey(kid, key) for kid, key in self.keys.items()}

    @classmethod
    def from_secret(cls, encoded: str) -> Keyring:
        """A single KEK given as base64 (``BASTION_MASTER_KEY``)."""
        key = _decode_key(encoded, "BASTION_MASTER_KEY")
        kid = "env-" + hashlib.sha256(key).hexdigest()[:12]
        return cls({kid: key}, kid)

    def wrap(self, data_key: DataKey) -> str:
        """Seal a data key under the active KEK, bound to the data key's id."""
        return seal(self._keks[self.active], data_key.key, _aad(data_key.id))

    def unwrap(self, data_key_id: str, wrapped: str) -> DataKey:
        """Open a wrapped data key. Raises KeyUnavailable naming a KEK we do not hold."""
        kek_id = sealed_key_id(wrapped)
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyUnavailable(kek_id)
        return DataKey(data_key_id, open_sealed(kek, wrapped, _aad(data_key_id)))

    def is_current(self, wrapped: str) -> bool:
        return sealed_key_id(wrapped) == self.active


def _aad(data_key_id: str) -> bytes:
    return b"bastion:data-key:" + data_key_id.encode()


def _decode_key(encoded: str, where: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise CryptoError(f"{where} is not valid base64") from None
    if len(key) != 32:
        raise CryptoError(f"{where} must hold 32 bytes (256 bits), not {len(key)}")
    return key


def new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


class KeyFile:
    """The 0600 JSON file that holds the KEKs of an embedded instance."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load_or_create(self) -> Keyring:
        if not self.path.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            kid = new_kek_id()
            self._write({kid: secrets.token_bytes(32)}, kid, exclusive=True)
        return self.load()

    def load(self) -> Keyring:
        mode = self.path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CryptoError(
                f"key file {self.path} is readable by other users; run: chmod 600 {self.path}"
            )
        try:
            doc = json.loads(self.path.read_text())
            keys = {kid: _decode_key(v, f"key {kid}") for kid, v in doc["keys"].items()}
            return Keyring(keys, doc["active"])
        except (AttributeError, KeyError, TypeError, ValueError):
            raise CryptoError(f"key file {self.path} is not a Bastion key file") from None

    def add_key(self) -> str:
        """Add a new KEK and make it active; the old ones stay until retired."""
        ring = self.load()
        kid = new_kek_id()
        self._write({**ring.keys, kid: secrets.token_bytes(32)}, kid)
        return kid

    def retire(self, kid: str) -> None:
        ring = self.load()
        if kid == ring.active:
            raise CryptoError("the active key cannot be retired")
        self._write({k: v for k, v in ring.keys.items() if k != kid}, ring.active)

    def _write(self, keys: dict[str, bytes], active: str, *, exclusive: bool = False) -> None:
        doc = {
            "format": _FORMAT,
            "active": active,
            "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
        }
        tmp = self.path.with_suffix(".tmp")
        # A fresh file every time: a leftover temp file (or a link planted in its
        # place) must never lend its permissions or its target to the key file.
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc, indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive and self.path.exists():
            tmp.unlink()
            raise CryptoError(f"key file {self.path} appeared while creating it")
        os.replace(tmp, self.path)
