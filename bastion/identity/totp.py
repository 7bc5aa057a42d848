"""TOTP (RFC 6238) as authenticator apps use it: SHA-1, 6 digits, 30-second steps.

The rules (STYLE habit 3, ASVS V6.5.1): a code is accepted for the current time
step or one step either side (clock drift and typing time); a code of a step at
or before the last one accepted for the user is a replay and is refused; a code
that matches within ten steps but not one is reported as a clock problem,
distinct from a wrong code, so the person can fix their device's time.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from urllib.parse import quote, urlencode

from bastion.crypto import constant_time_equal, hotp, random_bytes

PERIOD = 30
DIGITS = 6
SEED_BYTES = 20  # 160 bits, as RFC 4226 recommends
ACCEPT = 1  # steps either side that are accepted
SYNC = 10  # steps either side that are recognised as "out of sync"


class Outcome(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong_code"
    REPLAYED = "replayed_code"
    OUT_OF_SYNC = "out_of_sync"


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    step: int | None = None  # the matched time step, when there was one


def new_seed() -> bytes:
    return random_bytes(SEED_BYTES)


def time_step(moment: datetime | float, period: int = PERIOD) -> int:
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return int(seconds // period)


def code_at(
    seed: bytes, moment: datetime | float, *, digits: int = DIGITS, algorithm: str = "sha1"
) -> str:
    """The code an authenticator shows at ``moment`` (RFC 6238 section 4)."""
    return hotp(seed, time_step(moment), digits=digits, algorithm=algorithm)


def check(seed: bytes, code: str, now: datetime, last_step: int | None) -> Check:
    """Judge ``code`` at ``now``, given the last step accepted for this seed."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return Check(Outcome.WRONG)
    current = time_step(now)
    step = _match(seed, code, current, ACCEPT)
    if step is not None:
        if last_step is not None and step <= last_step:
            return Check(Outcome.REPLAYED, step)
        return Check(Outcome.ACCEPTED, step)
    step = _match(seed, code, current, SYNC)
    return Check(Outcome.OUT_OF_SYNC, step) if step is not None else Check(Outcome.WRONG)


def _match(seed: bytes, code: str, current: int, window: int) -> int | None:
    # Every candidate is compared in constant time and the loop never stops early,
    # so the time taken says nothing about which step (if any) matched.
    found = None
    for step in range(current - window, current + window + 1):
        if constant_time_equal(hotp(seed, step, digits=DIGITS), code) and found is None:
            found = step
    return found


def encode_seed(seed: bytes) -> str:
    """Base32 without padding, the form authenticator apps take."""
    return base64.b32encode(seed).decode().rstrip("=")


def provisioning_uri(seed: bytes, account: str, issuer: str = "Bastion") -> str:
    """The ``otpauth://`` URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": encode_seed(seed), "issuer": issuer, "algorithm": "SHA1",
         "digits": DIGITS, "period": PERIOD},
    )  # fmt: skip
    return f"otpauth://totp/{label}?{query}"
