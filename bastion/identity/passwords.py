"""Passwords: the policy that refuses weak ones, and argon2id hashing (AUTH-4).

Hashes are PHC strings (``$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>``), so each
carries its own parameters: raising the cost in settings makes every older hash
"need a rehash", and it is replaced at the next successful login.
"""

from __future__ import annotations

import unicodedata

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from bastion.crypto import random_token
from bastion.identity.errors import InvalidEmail, WeakPassword
from bastion.identity.ports import BreachCheck

MAX_LENGTH = 1024  # generous (ASVS asks for at least 64), but bounds the work per attempt


def normalise_password(password: str) -> str:
    """NFKC, as NIST SP 800-63B advises, so the same password typed on two keyboards
    hashes the same."""
    return unicodedata.normalize("NFKC", password)


def normalise_email(email: str) -> str:
    """The login form of an address: trimmed, NFKC, lower case. Raises InvalidEmail."""
    text = unicodedata.normalize("NFKC", email).strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or len(text) > 254:
        raise InvalidEmail("give an email address like name@example.com")
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in text):
        raise InvalidEmail("an email address has no spaces or control characters")
    return text


class PasswordPolicy:
    """What a new password must be: long enough, not too long, and not known to
    attackers (the breach check, and words from the account itself)."""

    def __init__(self, min_length: int, breach_check: BreachCheck) -> None:
        self.min_length = min_length
        self._breach = breach_check

    def check(self, password: str, email: str) -> None:
        """Return if acceptable; raise WeakPassword with a stable ``reason`` otherwise."""
        text = normalise_password(password)
        if len(text) < self.min_length:
            raise WeakPassword(
                f"use at least {self.min_length} characters; a passphrase of a few words works",
                "too_short",
            )
        if len(text) > MAX_LENGTH:
            raise WeakPassword(f"use at most {MAX_LENGTH} characters", "too_long")
        if self._breach.is_breached(text) or _from_account(text, email):
            raise WeakPassword(
                "this password is too common or too easy to guess; choose another", "common"
            )


def _from_account(password: str, email: str) -> bool:
    """Built from the account's own address (NIST: context-specific words)."""
    lowered = password.lower()
    local = email.partition("@")[0]
    return lowered == email or (len(local) >= 4 and local in lowered)


class PasswordHasher:
    """argon2id with the configured cost. ``verify`` returns a bool and never raises
    for a wrong password or a damaged hash."""

    def __init__(self, *, memory_kib: int, iterations: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=iterations, memory_cost=memory_kib, parallelism=parallelism,
            hash_len=32, salt_len=16, type=argon2.Type.ID,
        )  # fmt: skip
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise_password(password))

    def verify(self, stored: str, password: str) -> bool:
        # Nothing longer than this can be a valid password (the policy caps it after
        # NFKC, which never shrinks text fourfold): bound the work a caller can ask for.
        password = password[: 4 * MAX_LENGTH]
        try:
            return self._hasher.verify(stored, normalise_password(password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def verify_dummy(self, password: str) -> bool:
        """Spend the same work as a real verification and fail: for unknown accounts,
        so that timing does not tell them apart from wrong passwords."""
        if self._dummy is None:
            self._dummy = self.hash(random_token(32))
        self.verify(self._dummy, password)
        return False
