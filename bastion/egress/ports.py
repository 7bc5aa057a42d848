"""Name resolution, behind a Protocol so tests can play a hostile DNS server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping
from ipaddress import ip_address
from typing import Protocol, runtime_checkable

from bastion.egress.addresses import IPAddress
from bastion.egress.errors import EgressFailed, Failure


@runtime_checkable
class Resolver(Protocol):
    async def resolve(self, host: str) -> list[IPAddress]:
        """Every address ``host`` (a lower-case ASCII DNS name) resolves to, in the order
        to try them; never empty. Raises EgressFailed ``dns_failed`` when there is none."""
        ...


class SystemResolver:
    """The platform's resolver (``getaddrinfo``, run off the event loop)."""

    async def resolve(self, host: str) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise _unresolved(host) from None
        # A link-local answer may carry a zone ("fe80::1%eth0"); the address is what counts.
        return _addresses(host, (str(info[4][0]).partition("%")[0] for info in infos))


class StaticResolver:
    """Answers from a fixed map of names to addresses: for tests and for sealed
    networks. ``StaticResolver({})`` resolves nothing (the null resolver)."""

    def __init__(self, answers: Mapping[str, Iterable[str]]) -> None:
        self._answers = {name.lower(): tuple(addresses) for name, addresses in answers.items()}

    async def resolve(self, host: str) -> list[IPAddress]:
        return _addresses(host, self._answers.get(host, ()))


def _addresses(host: str, texts: Iterable[str]) -> list[IPAddress]:
    addresses = list(dict.fromkeys(ip_address(text) for text in texts))
    if not addresses:
        raise _unresolved(host)
    return addresses


def _unresolved(host: str) -> EgressFailed:
    return EgressFailed(Failure.DNS_FAILED, f"{host} could not be resolved")
