"""Egress: every outbound HTTP request goes through one hardened client (NET-1, ENC-1, API-3).

``OutboundClient`` refuses plain HTTP (unless an administrator lists the host),
URLs with credentials or oddly spelled addresses, hosts outside the caller's
allow-list, and any host that resolves to a loopback, private, link-local,
metadata or otherwise internal address (unless an administrator allows it). It
resolves each host once and connects to the address it checked, verifies TLS
1.2+ certificates against the original name, follows redirects only when asked
(checking every hop), and caps response bodies after decompression.

This layer imports only ``bastion.settings`` and ``bastion.errors`` (and httpx).
"""

from bastion.egress.addresses import METADATA_ADDRESSES, IPAddress, classify
from bastion.egress.client import DEFAULT_MAX_BYTES, OutboundClient, OutboundResponse
from bastion.egress.errors import EgressFailed, EgressRefused, Failure, Refusal
from bastion.egress.hosts import AllowList, HostPattern
from bastion.egress.policy import Policy, Target, parse_target
from bastion.egress.ports import Resolver, StaticResolver, SystemResolver
from bastion.egress.tls import tls_context

__all__ = [
    "DEFAULT_MAX_BYTES",
    "METADATA_ADDRESSES",
    "AllowList",
    "EgressFailed",
    "EgressRefused",
    "Failure",
    "HostPattern",
    "IPAddress",
    "OutboundClient",
    "OutboundResponse",
    "Policy",
    "Refusal",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "Target",
    "classify",
    "parse_target",
    "tls_context",
]
