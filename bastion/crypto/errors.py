from __future__ import annotations

from bastion.errors import BastionError, Unavailable


class CryptoError(BastionError):
    code = "crypto_error"


class KeyUnavailable(Unavailable):
    """A ciphertext names a key this instance does not hold (revoked, missing, shredded)."""

    code = "key_unavailable"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"key {key_id!r} is not available to decrypt this value", code=self.code)
        self.key_id = key_id


class TamperedCiphertext(CryptoError):
    code = "tampered_ciphertext"
