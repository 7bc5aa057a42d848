"""NET-1: the SSRF payload list. Every payload is refused with its expected reason, and
nothing reaches the network underneath the guard.

The client here allows nothing internal. It does allow plain HTTP to the payloads'
hosts, so that each payload meets the address checks rather than the plain-HTTP
refusal (which ``test_policy.py`` proves on its own). The network is a Recorder: a
payload that got through would be recorded, never sent.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from bastion.egress import EgressFailed, EgressRefused, StaticResolver, parse_target
from tests.egress.support import Recorder, answer, client, strict_settings

# A hostile DNS: names that look harmless and resolve inside.
DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "loopback.attacker.example": ["127.0.0.1"],
    "private.attacker.example": ["10.0.0.7"],
    "cgnat.attacker.example": ["100.64.1.1"],
    "linklocal.attacker.example": ["169.254.1.1"],
    "metadata.attacker.example": ["169.254.169.254"],
    "nat64.attacker.example": ["64:ff9b::a9fe:a9fe"],  # 169.254.169.254 through NAT64
    "mapped.attacker.example": ["::ffff:10.0.0.1"],
    "ula.attacker.example": ["fd12:3456::1"],
    "zero.attacker.example": ["0.0.0.0"],
    "mixed.attacker.example": ["93.184.216.34", "10.1.2.3"],  # one public, one private
    "mixed6.attacker.example": ["2606:4700::1111", "::1"],
    "public.example": ["93.184.216.34"],
}

PAYLOADS = [
    # loopback, in every spelling
    ("http://127.0.0.1/", "loopback_address"),
    ("http://127.0.0.2:8080/admin", "loopback_address"),
    ("https://127.0.0.1./", "loopback_address"),
    ("http://localhost/", "loopback_address"),
    ("http://loopback.attacker.example/", "loopback_address"),
    ("http://[::1]/", "loopback_address"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback_address"),
    ("http://[::ffff:127.0.0.1]/", "loopback_address"),
    ("http://[::ffff:7f00:1]/", "loopback_address"),
    ("http://[::127.0.0.1]/", "loopback_address"),
    ("http://[64:ff9b::7f00:1]/", "loopback_address"),
    ("https://[2002:7f00:1::]/", "loopback_address"),
    ("http://mixed6.attacker.example/", "loopback_address"),
    ("http://0x7f000001/", "odd_ip_encoding"),
    ("http://017700000001/", "odd_ip_encoding"),
    ("http://2130706433/", "odd_ip_encoding"),
    ("http://127.1/", "odd_ip_encoding"),
    ("http://0x7f.1/", "odd_ip_encoding"),
    ("http://0177.0.0.1/", "odd_ip_encoding"),
    ("http://127.000.000.001/", "odd_ip_encoding"),
    ("http://0/", "odd_ip_encoding"),
    ("http://%31%32%37.0.0.1/", "odd_ip_encoding"),
    ("http://1.2.3.4.5/", "odd_ip_encoding"),
    # cloud metadata, its aliases and encodings
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata_address"),
    ("http://[::ffff:169.254.169.254]/", "metadata_address"),
    ("http://[::ffff:a9fe:a9fe]/", "metadata_address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata_address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata_address"),
    ("http://metadata.google.internal./computeMetadata/v1/", "metadata_address"),
    ("http://metadata/computeMetadata/v1/", "metadata_address"),
    ("http://100.100.100.200/latest/meta-data/", "metadata_address"),
    ("http://169.254.170.2/v2/credentials", "metadata_address"),
    ("http://metadata.attacker.example/", "metadata_address"),
    ("http://nat64.attacker.example/", "metadata_address"),
    ("http://2852039166/", "odd_ip_encoding"),
    ("http://0xa9fea9fe/", "odd_ip_encoding"),
    ("http://0251.0376.0251.0376/", "odd_ip_encoding"),
    ("http://169.254.43518/", "odd_ip_encoding"),
    # private, link-local, multicast, reserved
    ("http://10.0.0.1/", "private_address"),
    ("http://172.16.5.4/", "private_address"),
    ("http://192.168.1.1/", "private_address"),
    ("http://100.64.0.1/", "private_address"),
    ("http://[fd12:3456::1]/", "private_address"),
    ("http://[::ffff:a00:1]/", "private_address"),
    ("http://private.attacker.example/", "private_address"),
    ("http://cgnat.attacker.example/", "private_address"),
    ("http://mapped.attacker.example/", "private_address"),
    ("http://ula.attacker.example/", "private_address"),
    ("http://mixed.attacker.example/", "private_address"),
    ("http://169.254.1.1/", "link_local_address"),
    ("http://[fe80::1]/", "link_local_address"),
    ("http://linklocal.attacker.example/", "link_local_address"),
    ("http://[fe80::1%25eth0]/", "odd_ip_encoding"),
    ("http://224.0.0.1/", "multicast_address"),
    ("http://[ff02::1]/", "multicast_address"),
    ("http://0.0.0.0/", "reserved_address"),
    ("http://[::]/", "reserved_address"),
    ("http://255.255.255.255/", "reserved_address"),
    ("http://zero.attacker.example/", "reserved_address"),
    # credentials before the host: the host is what comes after the "@"
    ("https://good.com@127.0.0.1/", "userinfo"),
    ("https://public.example@10.0.0.1/", "userinfo"),
    ("https://user:pass@public.example/", "userinfo"),
    ("https://good.com%40127.0.0.1/", "odd_ip_encoding"),
    # schemes and ports
    ("file:///etc/passwd", "invalid_url"),
    ("gopher://127.0.0.1:25/_HELO", "invalid_url"),
    ("dict://127.0.0.1:6379/info", "invalid_url"),
    ("https://public.example:0/", "bad_port"),
    ("https://public.example:70000/", "bad_port"),
]


def _plain_hosts() -> list[str]:
    """Every payload host that parses, so plain HTTP is never the reason here."""
    hosts = set()
    for url, _ in PAYLOADS:
        try:
            hosts.add(parse_target(url).host)
        except EgressRefused:
            continue
    return sorted(hosts)


def test_the_list_is_long_enough() -> None:
    assert len(PAYLOADS) >= 40
    assert len({url for url, _ in PAYLOADS}) == len(PAYLOADS)


@pytest.mark.parametrize(("url", "reason"), PAYLOADS)
def test_payload_is_refused(url: str, reason: str) -> None:
    network = Recorder()
    settings = strict_settings(egress_plain_http_hosts=_plain_hosts())

    async def go() -> EgressRefused:
        async with client(settings, StaticResolver(DNS), network) as http:
            with pytest.raises(EgressRefused) as info:
                await http.fetch("GET", url)
            return info.value

    refused = asyncio.run(go())
    assert refused.reason == reason, refused.message
    assert network.requests == []
    path = urlsplit(url).path
    if len(path) > 1:
        assert path not in refused.message, "messages never carry the path"


def test_the_same_payloads_are_refused_through_httpx_methods() -> None:
    # The guard sits in the transport: a caller that skips ``fetch`` is checked too.
    network = Recorder()
    settings = strict_settings(egress_plain_http_hosts=_plain_hosts())

    async def go() -> list[tuple[str, str]]:
        outcomes = []
        async with client(settings, StaticResolver(DNS), network) as http:
            for url, _ in PAYLOADS:
                try:
                    await http.get(url)
                    outcomes.append((url, "sent"))
                except EgressRefused as exc:
                    outcomes.append((url, exc.reason.value))
                except httpx.InvalidURL:  # httpx's own parser refused it first
                    outcomes.append((url, "odd_ip_encoding"))
        return outcomes

    assert asyncio.run(go()) == PAYLOADS
    assert network.requests == []


# -- redirects ---------------------------------------------------------------------

INTERNAL_LOCATIONS = [
    ("http://127.0.0.1/admin", "loopback_address"),
    ("https://[::1]/", "loopback_address"),
    ("https://2130706433/", "odd_ip_encoding"),
    ("https://169.254.169.254/latest/meta-data/", "metadata_address"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata_address"),
    ("https://[fd00:ec2::254]/", "metadata_address"),
    ("https://private.attacker.example/", "private_address"),
    ("https://10.0.0.1/", "private_address"),
    ("https://user@public.example/", "userinfo"),
    ("http://public.example/downgraded", "plain_http"),
]


def redirecting(location: str) -> Recorder:
    def respond(request: httpx.Request) -> httpx.Response:
        return answer(302, Location=location)

    return Recorder(respond)


@pytest.mark.parametrize(("location", "reason"), INTERNAL_LOCATIONS)
def test_a_redirect_to_an_internal_host_is_refused(location: str, reason: str) -> None:
    network = redirecting(location)
    settings = strict_settings(egress_plain_http_hosts=["127.0.0.1"])

    async def go() -> EgressRefused:
        async with client(settings, StaticResolver(DNS), network) as http:
            with pytest.raises(EgressRefused) as info:
                await http.fetch("GET", "https://public.example/start", max_redirects=3)
            return info.value

    assert asyncio.run(go()).reason == reason
    assert [r.extensions["sni_hostname"] for r in network.requests] == ["public.example"]


@pytest.mark.parametrize("redirects", [0, 3])
def test_an_unparseable_redirect_location_is_an_invalid_response(redirects: int) -> None:
    network = redirecting("https://0177.0.0.1/latest/meta-data/")

    async def go() -> EgressFailed:
        async with client(None, StaticResolver(DNS), network) as http:
            with pytest.raises(EgressFailed) as info:
                await http.fetch("GET", "https://public.example/", max_redirects=redirects)
            return info.value

    failure = asyncio.run(go())
    assert (failure.reason, failure.retryable) == ("invalid_response", False)
    assert len(network.requests) == 1


def test_redirects_are_not_followed_unless_asked() -> None:
    network = redirecting("https://169.254.169.254/")

    async def go() -> int:
        async with client(None, StaticResolver(DNS), network) as http:
            return (await http.fetch("GET", "https://public.example/start")).status

    assert asyncio.run(go()) == 302
    assert len(network.requests) == 1
