"""Swappable backends of the identity domain, each a Protocol with a real and a Null
implementation (STYLE habit 1; ``tests/identity/test_ports.py`` checks conformance)."""

from __future__ import annotations

import itertools
import string
from typing import Protocol, runtime_checkable

from bastion.identity.common_passwords import COMMON_PASSWORDS

_EDGES = string.digits + string.punctuation + string.whitespace
_LEET = str.maketrans({"@": "a", "4": "a", "8": "b", "3": "e", "1": "i", "!": "i", "0": "o",
                       "$": "s", "5": "s", "7": "t", "+": "t"})  # fmt: skip


@runtime_checkable
class BreachCheck(Protocol):
    """Tells whether a candidate password is known to attackers (ASVS V6.2.12)."""

    def is_breached(self, password: str) -> bool:
        """True if ``password`` must be refused as known. Raises
        ``bastion.errors.Unavailable`` if the backend cannot answer; callers let it
        propagate, so a password is never accepted unchecked (fail closed)."""
        ...


class CommonPasswordList:
    """The bundled local list of very common passwords (not a breach corpus), plus
    their trivial variants: case, leading and trailing digits or symbols, common
    letter-for-symbol swaps, repetitions, and straight runs of keys or letters."""

    def __init__(self, words: frozenset[str] = COMMON_PASSWORDS) -> None:
        self._words = words

    def is_breached(self, password: str) -> bool:
        lowered = password.lower()
        unit = _unit(lowered)
        repeated = unit != lowered and (len(unit) <= 4 or self._known(unit))
        return self._known(lowered) or repeated or _sequential(lowered)

    def _known(self, text: str) -> bool:
        core = text.strip(_EDGES)
        return text in self._words or core in self._words or core.translate(_LEET) in self._words


class NullBreachCheck:
    """Refuses nothing: for a deployment whose identity provider checks passwords."""

    def is_breached(self, password: str) -> bool:
        return False


def _unit(text: str) -> str:
    """The shortest piece ``text`` repeats ("abcabcabc" -> "abc"); itself if none."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text == text[:size] * (len(text) // size):
            return text[:size]
    return text


def _sequential(text: str) -> bool:
    """Each character one up (or one down) from the last: "abcdefghijkl", "987654321098"."""
    steps = {_step(a, b) for a, b in itertools.pairwise(text)}
    return len(text) > 1 and (steps == {1} or steps == {-1} or steps == {9})


def _step(a: str, b: str) -> int:
    # Digits wrap around ("...7890123" is a run), so they step modulo ten.
    return (ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
