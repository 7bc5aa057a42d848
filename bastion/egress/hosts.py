"""Per-automation egress allow-lists: host patterns such as ``api.example.com``,
``*.example.com:8443`` or ``[2001:db8::1]`` (NET-1, SA-2).

A pattern without a port allows the scheme's default port only (443, or 80 for
plain HTTP), so listing a host does not open every service it runs. A wildcard
``*.example.com`` matches any name below ``example.com`` but not the name
itself, and must leave at least two labels (``*.com`` is refused).

``bastion.automations.definition`` checks the same syntax when a definition is
applied (it cannot import this layer); ``tests/egress/test_hosts.py`` keeps the
two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bastion.egress.errors import EgressRefused, Refusal
from bastion.egress.policy import Target, parse_target
from bastion.errors import Invalid

_PORT = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry. ``kind`` is ``name``, ``suffix`` (a wildcard) or ``ip``."""

    kind: str
    host: str  # lower-case, canonical; for a suffix, the part after "*."
    port: int | None  # None: the scheme's default port

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        """Parse one pattern. Raises Invalid (code ``invalid_egress_host``) with the reason."""
        host, port = _split_port(text.strip().lower())
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        try:
            target = parse_target(f"https://{_bracketed(host)}/")
        except EgressRefused as exc:
            raise _invalid(text, exc.message) from None
        if target.host != host.rstrip(".") or host.endswith("."):
            raise _invalid(
                text, "write the host in lower-case ASCII (punycode), without a trailing dot"
            )
        if wildcard and (target.ip is not None or host.count(".") < 1):
            raise _invalid(text, "a wildcard needs a domain of two labels or more: '*.example.com'")
        kind = "suffix" if wildcard else "ip" if target.ip is not None else "name"
        return cls(kind, target.host, port)

    def matches(self, target: Target) -> bool:
        if not (target.default_port if self.port is None else self.port == target.port):
            return False
        if self.kind == "suffix":
            return target.ip is None and target.host.endswith("." + self.host)
        return target.host == self.host

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.kind == "suffix" else _bracketed(self.host)
        return host if self.port is None else f"{host}:{self.port}"


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if ":" not in host:
            raise _invalid(text, "brackets are for IPv6 addresses only")
        if rest and not rest.startswith(":"):
            raise _invalid(text, "expected ':port' after the bracketed address")
        return host, _port(text, rest[1:]) if rest else None
    if text.count(":") > 1:
        raise _invalid(text, "write an IPv6 address in brackets: '[2001:db8::1]'")
    host, colon, port = text.partition(":")
    return host, _port(text, port) if colon else None


def _port(text: str, port: str) -> int:
    if not _PORT.match(port) or not 0 < int(port) < 65536:
        raise _invalid(text, "the port must be a number from 1 to 65535")
    return int(port)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _invalid(text: str, why: str) -> Invalid:
    return Invalid(f"egress host {text!r}: {why}", code="invalid_egress_host")


@dataclass(frozen=True)
class AllowList:
    """The hosts one automation may reach; anything else is refused before resolution."""

    patterns: tuple[HostPattern, ...]

    @classmethod
    def build(cls, patterns: Iterable[str] = (), literal_urls: Iterable[str] = ()) -> AllowList:
        """Patterns as written, plus the host (and explicit port) of each literal URL.

        Raises Invalid for a bad pattern. A literal URL that cannot be parsed adds
        nothing: a request to it is refused on its own grounds when it runs.
        """
        parsed = [HostPattern.parse(p) for p in patterns]
        for url in literal_urls:
            try:
                target = parse_target(url)
            except EgressRefused:
                continue
            kind = "name" if target.ip is None else "ip"
            parsed.append(HostPattern(kind, target.host, target.url.port))
        return cls(tuple(dict.fromkeys(parsed)))

    def allows(self, target: Target) -> bool:
        return any(p.matches(target) for p in self.patterns)

    def check(self, target: Target) -> None:
        """Raise EgressRefused ``not_allowed_host`` unless a pattern matches ``target``."""
        if not self.allows(target):
            raise EgressRefused(
                Refusal.NOT_ALLOWED_HOST,
                f"{target.label} is not in this automation's egress allow-list "
                "(its literal URLs and egress.hosts)",
            )
