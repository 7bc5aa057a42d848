"""Cryptography through one door.

Only this package imports ``cryptography``, ``hmac`` and ``secrets``. Every
ciphertext and keyed digest it produces carries a format version and a key id
(``v1:<kid>:...``) so that algorithms and keys can change without guesswork.
"""

from bastion.crypto.aead import DataKey, open_sealed, seal, sealed_key_id
from bastion.crypto.errors import CryptoError, KeyUnavailable, TamperedCiphertext
from bastion.crypto.hashing import constant_time_equal, keyed_digest, sha256_hex
from bastion.crypto.kdf import derive_key
from bastion.crypto.keyring import KeyFile, Keyring
from bastion.crypto.otp import hotp
from bastion.crypto.random import random_bytes, random_hex, random_token

__all__ = [
    "CryptoError",
    "DataKey",
    "KeyFile",
    "KeyUnavailable",
    "Keyring",
    "TamperedCiphertext",
    "constant_time_equal",
    "derive_key",
    "hotp",
    "keyed_digest",
    "open_sealed",
    "random_bytes",
    "random_hex",
    "random_token",
    "seal",
    "sealed_key_id",
    "sha256_hex",
]
