"""AES-256-GCM sealing with versioned, key-id-tagged text ciphertexts.

Format: ``v1:<key id>:<base64url(nonce || ciphertext || tag)>``. The associated
data (``aad``) binds a ciphertext to where it belongs (table, column, row id), so
a ciphertext copied into another row does not open there.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.crypto.errors import CryptoError, TamperedCiphertext

VERSION = "v1"
_NONCE = 12


@dataclass(frozen=True)
class DataKey:
    """A data-encryption key in clear; lives in memory only, wrapped at rest."""

    id: str
    key: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise CryptoError("data keys are 256-bit")
        if ":" in self.id:
            raise CryptoError("key ids may not contain ':'")
        object.__setattr__(self, "_aead", AESGCM(self.key))

    @classmethod
    def generate(cls, key_id: str) -> DataKey:
        return cls(key_id, AESGCM.generate_key(bit_length=256))


def seal(key: DataKey, plaintext: bytes, aad: bytes = b"") -> str:
    nonce = os.urandom(_NONCE)
    body = nonce + key._aead.encrypt(nonce, plaintext, aad)
    return f"{VERSION}:{key.id}:{base64.urlsafe_b64encode(body).decode()}"


def sealed_key_id(sealed: str) -> str:
    """The key id a sealed value names, without opening it."""
    return _split(sealed)[1]


def open_sealed(key: DataKey, sealed: str, aad: bytes = b"") -> bytes:
    _, key_id, body = _split(sealed)
    if key_id != key.id:
        raise CryptoError(f"value is sealed under key {key_id!r}, not {key.id!r}")
    try:
        raw = base64.b64decode(body, altchars=b"-_", validate=True)
    except ValueError:
        raw = b""
    if len(raw) < _NONCE + 16:  # a nonce and a GCM tag at the very least
        raise TamperedCiphertext(f"value sealed under key {key_id!r} is damaged")
    try:
        return key._aead.decrypt(raw[:_NONCE], raw[_NONCE:], aad)
    except InvalidTag:
        raise TamperedCiphertext(
            f"value sealed under key {key_id!r} failed authentication"
        ) from None


def _split(sealed: str) -> tuple[str, str, str]:
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise CryptoError("not a sealed value of a known format version")
    return parts[0], parts[1], parts[2]
