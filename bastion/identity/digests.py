"""Purpose-bound keyed digests of identity secrets (STYLE habit 2).

Session ids, sign-in challenges, setup tokens, recovery codes and email
addresses are stored only as ``v1:<pepper key id>:<HMAC-SHA256>``. Each purpose
has its own subkey, derived from the identity pepper with HKDF under its own
label, so a value minted for one purpose never matches a row of another: a
sign-in challenge presented as a session id finds nothing. The pepper is a data
key wrapped by the KEK, so a database dump alone cannot test guesses.
"""

from __future__ import annotations

from enum import StrEnum

from bastion.clock import Clock
from bastion.crypto import derive_key, keyed_digest
from bastion.store.datakeys import Sealer

PEPPER = "pepper:identity"


class Purpose(StrEnum):
    CHALLENGE = "challenge"
    EMAIL = "email"
    RECOVERY_CODE = "recovery-code"
    SESSION = "session"
    SETUP = "setup"


class Digests:
    def __init__(self, sealer: Sealer, clock: Clock) -> None:
        self._sealer, self._clock = sealer, clock
        self._kid: str | None = None
        self._keys: dict[Purpose, bytes] = {}

    def prepare(self) -> None:
        """Load (or make, on first start) the pepper. Call before any write transaction:
        making it is a transaction of its own."""
        pepper = self._sealer.shared_key(PEPPER, self._clock.now())
        self._keys = {p: derive_key(pepper.key, f"bastion:identity:{p.value}") for p in Purpose}
        self._kid = pepper.id

    def digest(self, purpose: Purpose, value: str) -> str:
        if self._kid is None:
            raise RuntimeError("Digests.prepare() was not called at start-up")
        return f"v1:{self._kid}:{keyed_digest(self._keys[purpose], value.encode())}"
