"""Identifiers: time-ordered, URL-safe, and never a secret.

Ids here are for naming rows, not for authenticating anything: secrets come from
``bastion.crypto``. Ids sort by creation time (UUIDv7 layout), which keeps
B-tree inserts local and lists naturally ordered.
"""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """A UUIDv7 as 32 lowercase hex characters."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & 0x3FFFFFFFFFFFFFFF)
    return f"{value:032x}"


def correlation_id() -> str:
    """A short id that ties an error shown to a caller to the log lines behind it."""
    return os.urandom(8).hex()
