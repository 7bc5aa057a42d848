"""Who a request comes from, as far as limits and allow-lists are concerned."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPV6_PREFIX = 64  # one subscriber usually holds a whole /64


def parse_source(host: str | None) -> IPv4Address | IPv6Address | None:
    """The caller's address, with IPv4-mapped IPv6 (``::ffff:a.b.c.d``) read as IPv4;
    None when the peer is not an IP address (a Unix socket, a test client)."""
    if not host:
        return None
    try:
        address = ip_address(host)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def source_key(host: str | None) -> str:
    """The key that per-source limits count under.

    An IPv6 caller is counted by its /64: anyone holding one /64 can use 2**64
    addresses, so a per-address limit would not hold them back.
    """
    address = parse_source(host)
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_PREFIX), strict=False))
    if address is not None:
        return str(address)
    return f"peer:{(host or 'unknown')[:64]}"


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """An allow-list entry: a network such as ``203.0.113.0/24`` or ``2001:db8::/32``, or
    one address. Raises ValueError with a message for whoever wrote it; an entry with
    host bits set (``10.1.2.3/8``) is refused rather than silently widened."""
    try:
        return ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address or network like 203.0.113.0/24 or 2001:db8::/32"
        ) from None
    raise ValueError(f"{text!r} has host bits set: write {loose} for that whole network")
