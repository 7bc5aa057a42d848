"""Which IP addresses an outbound request may reach (NET-1).

``classify`` returns why an address is internal, or None for a public one. The
tables are written out here rather than taken from ``ipaddress``'s
``is_private``/``is_global``, whose answers have changed between Python
releases: what Bastion refuses must not move with the interpreter.

IPv6 addresses that carry an IPv4 address inside (IPv4-mapped, IPv4-compatible,
NAT64 and 6to4) are judged by that IPv4 address: ``::ffff:127.0.0.1`` reaches
the loopback interface as surely as ``127.0.0.1`` does.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from bastion.egress.errors import Refusal

IPAddress = IPv4Address | IPv6Address

# Instance metadata services hand out cloud credentials: the prize of most SSRF
# attacks. They sit inside ranges refused anyway, but are named so that allowing
# a whole internal range never opens them by accident (see ``Policy``).
METADATA_ADDRESSES = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS, over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity, over IPv6
    )
)

_V4: tuple[tuple[IPv4Network, Refusal], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", Refusal.RESERVED_ADDRESS),  # "this network": 0.0.0.0 reaches localhost
        ("10.0.0.0/8", Refusal.PRIVATE_ADDRESS),
        ("100.64.0.0/10", Refusal.PRIVATE_ADDRESS),  # carrier-grade NAT
        ("127.0.0.0/8", Refusal.LOOPBACK_ADDRESS),
        ("169.254.0.0/16", Refusal.LINK_LOCAL_ADDRESS),
        ("172.16.0.0/12", Refusal.PRIVATE_ADDRESS),
        ("192.0.0.0/24", Refusal.RESERVED_ADDRESS),  # IETF protocol assignments
        ("192.0.2.0/24", Refusal.RESERVED_ADDRESS),  # documentation
        ("192.88.99.0/24", Refusal.RESERVED_ADDRESS),  # 6to4 relays (deprecated)
        ("192.168.0.0/16", Refusal.PRIVATE_ADDRESS),
        ("198.18.0.0/15", Refusal.RESERVED_ADDRESS),  # benchmarking
        ("198.51.100.0/24", Refusal.RESERVED_ADDRESS),  # documentation
        ("203.0.113.0/24", Refusal.RESERVED_ADDRESS),  # documentation
        ("224.0.0.0/4", Refusal.MULTICAST_ADDRESS),
        ("240.0.0.0/4", Refusal.RESERVED_ADDRESS),  # future use, and 255.255.255.255
    )
)

_V6: tuple[tuple[IPv6Network, Refusal], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", Refusal.RESERVED_ADDRESS),  # unspecified
        ("::1/128", Refusal.LOOPBACK_ADDRESS),
        ("64:ff9b:1::/48", Refusal.PRIVATE_ADDRESS),  # local-use NAT64
        ("100::/64", Refusal.RESERVED_ADDRESS),  # discard
        ("2001::/32", Refusal.RESERVED_ADDRESS),  # Teredo: its IPv4 address is obfuscated
        ("2001:db8::/32", Refusal.RESERVED_ADDRESS),  # documentation
        ("fc00::/7", Refusal.PRIVATE_ADDRESS),  # unique local
        ("fe80::/10", Refusal.LINK_LOCAL_ADDRESS),
        ("fec0::/10", Refusal.PRIVATE_ADDRESS),  # site local (deprecated)
        ("ff00::/8", Refusal.MULTICAST_ADDRESS),
    )
)

_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
_COMPATIBLE = IPv6Network("::/96")  # IPv4-compatible (deprecated), e.g. ::127.0.0.1


def classify(ip: IPAddress) -> Refusal | None:
    """Why ``ip`` is not a public address, or None when it is."""
    if ip in METADATA_ADDRESSES:
        return Refusal.METADATA_ADDRESS
    if isinstance(ip, IPv4Address):
        return next((reason for net, reason in _V4 if ip in net), None)
    return _classify_v6(ip)


def _classify_v6(ip: IPv6Address) -> Refusal | None:
    listed = next((reason for net, reason in _V6 if ip in net), None)
    if listed is not None:
        return listed
    inner = embedded_v4(ip)
    if inner is not None:
        verdict = classify(inner)
        if verdict is not None or ip not in _COMPATIBLE:
            return verdict
    # Everything public in IPv6 today is global unicast; the rest is unassigned.
    return None if ip in _GLOBAL_UNICAST else Refusal.RESERVED_ADDRESS


def embedded_v4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _COMPATIBLE:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
