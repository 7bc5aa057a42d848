"""Purpose-bound subkeys: one long-lived secret, a distinct key per use (HKDF, RFC 5869).

A digest made under the subkey for one purpose never matches under another's, so a
value minted for one purpose (a session id, a setup token) cannot be replayed as
another.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(key: bytes, label: str, *, length: int = 32) -> bytes:
    """HKDF-SHA256 of ``key`` with ``label`` as the info string (no salt: ``key`` is random)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode()).derive(
        key
    )
