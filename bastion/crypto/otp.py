"""HOTP (RFC 4226) and the HMAC behind TOTP (RFC 6238).

Only the one-time-password arithmetic lives here, because it needs ``hmac``;
time steps, windows and replay rules belong to ``bastion.identity.totp``.
"""

from __future__ import annotations

import hashlib
import hmac

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """The ``digits``-long code for ``counter`` (RFC 4226 section 5.3, dynamic truncation).

    Raises ValueError for an unknown algorithm, a negative counter or 6 > digits > 10.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown HOTP algorithm {algorithm!r}")
    if counter < 0 or not 6 <= digits <= 10:
        raise ValueError("HOTP needs a counter >= 0 and 6 to 10 digits")
    mac = hmac.new(key, counter.to_bytes(8, "big"), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)
