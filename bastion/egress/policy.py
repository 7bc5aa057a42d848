"""Parse an outbound URL and decide whether Bastion may send a request to it.

``parse_target`` checks what the URL itself says (scheme, userinfo, host
syntax, port) and refuses every spelling of an IPv4 address except the
canonical dotted quad: ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1``
all mean 127.0.0.1 to the C resolver, and a check that only knows the dotted
form would wave them through. ``Policy`` adds what the administrator decided
(hosts allowed over plain HTTP, internal hosts and ranges allowed) and judges
every address a host resolves to (NET-1, ENC-1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import unquote, urlsplit

import httpx

from bastion.egress.addresses import METADATA_ADDRESSES, IPAddress, classify, embedded_v4
from bastion.egress.errors import EgressRefused, Refusal
from bastion.errors import Invalid
from bastion.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")  # a part inet_aton reads as a number
# Names that reach a metadata service through the platform's own DNS.
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
     "instance-data.ec2.internal"}
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """Where a request goes: the parsed URL and its normalised host and port."""

    url: httpx.URL
    scheme: str
    host: str  # lower-case ASCII (IDNA), no trailing dot; an IP address in canonical form
    ip: IPAddress | None  # set when the URL names an address rather than a host name
    port: int  # the effective port

    @property
    def default_port(self) -> bool:
        return self.port == DEFAULT_PORTS[self.scheme]

    @property
    def label(self) -> str:
        """The host (and port when not the default) for messages: never the path or query."""
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        return host if self.default_port else f"{host}:{self.port}"


def parse_target(url: str | httpx.URL) -> Target:
    """The target of an absolute http(s) URL. Raises EgressRefused: ``invalid_url``,
    ``userinfo``, ``odd_ip_encoding`` or ``bad_port``."""
    parsed = _parse(url)
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise EgressRefused(Refusal.INVALID_URL, "the URL must be an absolute http(s) URL")
    if parsed.userinfo:
        raise EgressRefused(
            Refusal.USERINFO, "a URL must not carry credentials before its host ('user@host')"
        )
    host, ip = normalise_host(parsed.raw_host.decode("ascii"))
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise EgressRefused(Refusal.BAD_PORT, f"{host}: port {port} is out of range")
    return Target(parsed, scheme, host, ip, port)


def _parse(url: str | httpx.URL) -> httpx.URL:
    if isinstance(url, httpx.URL):
        return url
    if not isinstance(url, str):
        raise EgressRefused(Refusal.INVALID_URL, "the URL must be a string")
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        pass
    # httpx refuses some spellings of an address (e.g. ``0177.0.0.1``): say which kind.
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if host and _numeric(host.rstrip(".")):
        raise EgressRefused(Refusal.ODD_IP_ENCODING, "the URL spells an IP address oddly")
    raise EgressRefused(Refusal.INVALID_URL, "the URL is not a valid absolute http(s) URL")


def normalise_host(raw: str) -> tuple[str, IPAddress | None]:
    """A host as httpx parsed it, as ``(canonical text, address or None)``.

    Raises EgressRefused ``odd_ip_encoding`` for an address in any form but the
    canonical one (or with a zone id), and ``invalid_url`` for anything that is
    neither an address nor a DNS name.
    """
    host = raw.lower()
    if "%" in host:  # a zone id, or a percent-encoded name: both hide what is reached
        decoded = unquote(host)
        if ":" in decoded or _numeric(decoded.rstrip(".")):
            raise EgressRefused(Refusal.ODD_IP_ENCODING, "the URL spells an IP address oddly")
        raise EgressRefused(Refusal.INVALID_URL, "the URL's host is not a valid name")
    if ":" in host:
        return _ipv6(host)
    host = host[:-1] if host.endswith(".") else host
    if _numeric(host):
        return _ipv4(host)
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise EgressRefused(Refusal.INVALID_URL, "the URL's host is not a valid name")
    return host, None


def _numeric(host: str) -> bool:
    """True when a resolver would read ``host`` as an IPv4 address (its last label is a
    number), whatever the spelling; no real DNS name ends in a numeric label."""
    return bool(host) and bool(_NUMBER.match(host.rsplit(".", 1)[-1]))


def _ipv4(host: str) -> tuple[str, IPAddress]:
    try:
        ip = ip_address(host)  # dotted quad only: no leading zeros, hex, or short forms
    except ValueError:
        raise EgressRefused(
            Refusal.ODD_IP_ENCODING, f"{host!r} is not a canonical dotted IPv4 address"
        ) from None
    return str(ip), ip


def _ipv6(host: str) -> tuple[str, IPAddress]:
    try:
        ip = ip_address(host)
    except ValueError:
        raise EgressRefused(Refusal.INVALID_URL, "the URL's host is not a valid address") from None
    return str(ip), ip


Network = IPv4Network | IPv6Network


class Policy:
    """The administrator's egress settings, and the checks that apply them.

    ``plain_http_hosts``: hosts that may be reached over ``http://`` (ENC-1).
    ``allow_internal``: host names and networks that may be reached although they
    are internal. A metadata address is allowed only by a network holding that
    single address, so allowing 169.254.0.0/16 does not expose instance credentials.
    """

    def __init__(self, *, plain_http_hosts: Iterable[str] = (), allow_internal: Iterable[str] = ()):
        self._plain = frozenset(_entry_host(h) for h in plain_http_hosts)
        names, networks = set(), []
        for entry in allow_internal:
            network = _network(entry)
            if network is None:
                names.add(_entry_host(entry))
            else:
                networks.append(network)
        self._names, self._networks = frozenset(names), tuple(networks)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            plain_http_hosts=settings.egress_plain_http_hosts,
            allow_internal=settings.egress_allow_internal,
        )

    def check(self, url: str | httpx.URL) -> Target:
        """Parse ``url`` and check what can be known before resolving it.

        Returns the Target. Raises EgressRefused: the reasons of ``parse_target``,
        ``plain_http``, and ``metadata_address`` for a metadata service's name.
        """
        target = parse_target(url)
        if target.scheme == "http" and target.host not in self._plain:
            raise EgressRefused(
                Refusal.PLAIN_HTTP,
                f"{target.label}: plain http:// is refused; use https:// (an administrator "
                "can allow a host in egress_plain_http_hosts)",
            )
        if _metadata_name(target.host) and target.host not in self._names:
            raise EgressRefused(
                Refusal.METADATA_ADDRESS, f"{target.host} is a cloud metadata service"
            )
        return target

    def check_address(self, target: Target, ip: IPAddress) -> None:
        """Refuse ``ip`` (which ``target``'s host resolved to, or names) if it is internal
        and not allowed. Raises EgressRefused with the address's class as the reason."""
        reason = classify(ip)
        if reason is None or self._allows(
            target.host, ip, exact=reason == Refusal.METADATA_ADDRESS
        ):
            return
        where = target.label if target.ip is not None else f"{target.label} ({ip})"
        kind = reason.value.removesuffix("_address").replace("_", "-")
        raise EgressRefused(reason, f"{where}: {kind} addresses are not reachable")

    def _allows(self, host: str, ip: IPAddress, *, exact: bool) -> bool:
        # A listed name vouches for what it resolves to, except a metadata address:
        # that takes the address itself, so a hijacked name cannot open it.
        if host in self._names and not exact:
            return True
        inner = embedded_v4(ip) if isinstance(ip, IPv6Address) else None
        candidates: list[IPAddress] = [ip] if inner is None else [ip, inner]
        return any(
            candidate in network and (not exact or network.num_addresses == 1)
            for network in self._networks
            for candidate in candidates
        )


def _metadata_name(host: str) -> bool:
    return any(host == name or host.endswith("." + name) for name in METADATA_NAMES)


def _entry_host(entry: str) -> str:
    host = entry.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return str(ip_address(host))
    except ValueError:
        return host


def _network(entry: str) -> Network | None:
    """The network an allow_internal entry names, or None for a host name."""
    text = entry.strip().removeprefix("[").removesuffix("]")
    try:
        return ip_network(text)
    except ValueError:
        if "/" in text or ":" in text:
            raise Invalid(f"egress_allow_internal: {entry!r} is not a valid network") from None
        return None


__all__ = ["DEFAULT_PORTS", "METADATA_ADDRESSES", "Policy", "Target", "parse_target"]
