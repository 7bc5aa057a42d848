"""Unguessable values, always from the operating system's CSPRNG."""

from __future__ import annotations

import secrets


def random_bytes(n: int = 32) -> bytes:
    return secrets.token_bytes(n)


def random_token(nbytes: int = 32) -> str:
    """URL-safe text with ``nbytes`` of entropy (at least 16, ASVS V11.5.1)."""
    if nbytes < 16:
        raise ValueError("tokens need at least 128 bits of entropy")
    return secrets.token_urlsafe(nbytes)


def random_hex(nbytes: int) -> str:
    return secrets.token_hex(nbytes)
