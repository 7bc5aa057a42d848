"""Masking: every vault secret value, in every encoding an attacker would reach for,
becomes ``****`` before anything is stored, logged or returned.

The forms searched for are the value itself, its JSON escaping, URL encodings
(``%XX`` in any case, ``+`` for spaces), hex (lower and upper case), and
base64 (standard and URL-safe, padded or not). Base64 is matched at each of the
three byte alignments, so a secret encoded inside a longer value (``user:secret``
in a Basic header) is found too; the few characters around such a match that
carry bits of the secret are masked with it. Every form is also found when the
text breaks it across lines.

Hot path: with an empty vault ``mask`` returns at once. Otherwise the patterns
are built once per change of the secret set, and a value is first checked with
plain substring searches on one joined text; regular expressions run only for
the forms actually present.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from bastion import codec

MASK = "****"
MIN_LENGTH = 4  # defensive: the vault refuses secrets shorter than 8 characters
_BREAK = r"(?:\r?\n[ \t]*)?"  # a line break (and indentation) inside a value
_BREAKS = re.compile(r"\r?\n[ \t]*")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_TOKEN = re.compile(r"%[0-9A-F]{2}|.", re.DOTALL)
_B64 = {"+/": "[A-Za-z0-9+/]", "-_": "[A-Za-z0-9_-]"}


@dataclass(frozen=True)
class _Form:
    needle: str  # searched for in text with line breaks removed
    prefix: str = ""  # regex parts around it (base64 neighbours)
    suffix: str = ""

    @property
    def pattern(self) -> re.Pattern[str]:
        """Finds the form in the original text, line breaks included."""
        return _compile(self)


@lru_cache(maxsize=8192)
def _compile(form: _Form) -> re.Pattern[str]:
    # Compiled on first use: most forms never occur, and compiling them all up front
    # would make every change to the vault cost milliseconds per secret.
    body = _BREAK.join(_token(t) for t in _TOKEN.findall(form.needle))
    return re.compile(form.prefix + body + form.suffix)


def _token(text: str) -> str:
    if len(text) == 3:  # a percent escape: its hex digits in either case
        return "%" + "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in text[1:])
    return re.escape(text)


def _normal(text: str) -> str:
    """Percent escapes in upper case, as needles are: ``%2f`` and ``%2F`` are one form."""
    return _PERCENT.sub(lambda m: m.group(0).upper(), text) if "%" in text else text


@dataclass(frozen=True)
class _Snapshot:
    secrets: frozenset[str]
    forms: tuple[_Form, ...]


_EMPTY = _Snapshot(frozenset(), ())


class Masker:
    """Masks a set of secret values in JSON values and text. Thread-safe: the set is
    swapped as a whole, so a ``mask`` call sees either the old or the new set."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._snap = _EMPTY
        self._lock = threading.Lock()  # writers only: readers take the snapshot as it is
        self.update(secrets)

    @property
    def empty(self) -> bool:
        return not self._snap.forms

    def update(self, secrets: Iterable[str]) -> None:
        """Mask exactly ``secrets`` from now on; patterns are rebuilt only on a change."""
        wanted = frozenset(s for s in secrets if len(s) >= MIN_LENGTH)
        with self._lock:
            if wanted != self._snap.secrets:
                self._snap = _snapshot(wanted)

    def add(self, secrets: Iterable[str]) -> None:
        added = {s for s in secrets if len(s) >= MIN_LENGTH}
        with self._lock:
            if not added <= self._snap.secrets:
                self._snap = _snapshot(self._snap.secrets | added)

    def covers(self, secrets: Iterable[str]) -> bool:
        """Whether every value of ``secrets`` is masked already."""
        known = self._snap.secrets
        return all(s in known or len(s) < MIN_LENGTH for s in secrets)

    def mask(self, value: Any) -> Any:
        """``value`` with every secret replaced by ``****``: strings, and the strings,
        keys and integers inside dicts, lists and tuples. Returns ``value`` itself
        when it holds no secret; anything else passes through unchanged."""
        snap = self._snap
        if not snap.forms:
            return value
        if isinstance(value, str):
            return _mask_text(snap, value)
        if not isinstance(value, dict | list | tuple):
            return value
        strings: list[str] = []
        _collect(value, strings)
        if not _present(snap, "\0".join(strings)):
            return value
        return _rebuild(value, lambda text: _mask_text(snap, text))

    def mask_text(self, text: str) -> str:
        return _mask_text(self._snap, text)


def _snapshot(secrets: frozenset[str]) -> _Snapshot:
    forms: dict[str, _Form] = {}
    for secret in secrets:
        for needle, prefix, suffix in _forms(secret):
            needle = _normal(needle)
            forms.setdefault(needle, _Form(needle, prefix, suffix))
    # Longest first: a long form is masked whole before a shorter one could split it.
    ordered = sorted(forms.values(), key=lambda f: (-len(f.needle), f.needle))
    return _Snapshot(secrets, tuple(ordered))


def _forms(secret: str) -> Iterable[tuple[str, str, str]]:
    """(needle, regex prefix, regex suffix) for every encoding of ``secret``."""
    raw = secret.encode()
    plain = {
        secret,
        codec.dumps_str(secret)[1:-1],
        raw.hex(),
        raw.hex().upper(),
    }
    plain |= {quote(secret, safe=""), quote(secret), quote_plus(secret, safe="")}
    for needle in plain:
        yield needle, "", ""
    yield from _base64_forms(raw)


def _base64_forms(raw: bytes) -> Iterable[tuple[str, str, str]]:
    # Base64 turns each 3 bytes into 4 characters, so where the secret starts in the
    # encoded data decides its characters. For each of the three alignments, the run
    # of whole 3-byte groups made of secret bytes alone encodes the same way wherever
    # it sits; the characters around it (mixed with other bytes) are masked too.
    for skip in range(3):
        core = raw[skip:]
        core = core[: len(core) // 3 * 3]
        if len(core) < 3:
            continue
        for alt, chars in _B64.items():
            needle = base64.b64encode(core, altchars=alt.encode()).decode()
            yield needle, f"{chars}{{0,3}}", f"{chars}{{0,3}}={{0,2}}"


def _present(snap: _Snapshot, text: str) -> list[_Form]:
    compact = _normal(_BREAKS.sub("", text) if "\n" in text else text)
    return [form for form in snap.forms if form.needle in compact]


def _mask_text(snap: _Snapshot, text: str) -> str:
    if not snap.forms:
        return text
    for form in _present(snap, text):
        text = form.pattern.sub(MASK, text)
    return text


def _collect(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, into)
            _collect(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, into)
    elif isinstance(value, int) and not isinstance(value, bool):
        into.append(str(value))


def _rebuild(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {_rebuild(k, text): _rebuild(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild(item, text) for item in value]
    if isinstance(value, tuple):
        return tuple(_rebuild(item, text) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = text(str(value))
        return value if masked == str(value) else masked
    return value
