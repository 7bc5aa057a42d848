"""NET-1 and ENC-1: address classes, the administrator's exemptions, plain HTTP."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from bastion.egress import EgressRefused, Policy, StaticResolver, classify, parse_target
from bastion.settings import Settings
from tests.egress.support import client, strict_settings


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),  # mapped public
        ("64:ff9b::808:808", None),  # NAT64 of a public address
        ("2002:808:808::1", None),  # 6to4 of a public address
        ("127.255.255.254", "loopback_address"),
        ("10.255.255.255", "private_address"),
        ("172.31.0.1", "private_address"),
        ("172.32.0.1", None),
        ("100.127.255.255", "private_address"),
        ("100.128.0.1", None),
        ("169.254.169.253", "link_local_address"),
        ("169.254.169.254", "metadata_address"),
        ("192.0.0.192", "metadata_address"),
        ("fd00:ec2::254", "metadata_address"),
        ("::ffff:169.254.169.254", "metadata_address"),
        ("0.1.2.3", "reserved_address"),
        ("192.0.2.10", "reserved_address"),
        ("198.18.0.1", "reserved_address"),
        ("240.0.0.1", "reserved_address"),
        ("255.255.255.255", "reserved_address"),
        ("239.255.255.250", "multicast_address"),
        ("::", "reserved_address"),
        ("::8.8.8.8", "reserved_address"),  # IPv4-compatible: deprecated, never public
        ("::10.0.0.1", "private_address"),
        ("64:ff9b::a00:1", "private_address"),
        ("64:ff9b:1::1", "private_address"),
        ("2001:db8::1", "reserved_address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved_address"),  # Teredo
        ("fc00::1", "private_address"),
        ("fdff:ffff::1", "private_address"),
        ("fe80::abcd", "link_local_address"),
        ("febf::1", "link_local_address"),
        ("fec0::1", "private_address"),
        ("ff05::1:3", "multicast_address"),
        ("100::1", "reserved_address"),
        ("4000::1", "reserved_address"),  # outside global unicast
    ],
)
def test_classify(address: str, reason: str | None) -> None:
    verdict = classify(ip_address(address))
    assert (verdict.value if verdict else None) == reason


def refusal(policy: Policy, url: str, address: str) -> str | None:
    try:
        policy.check_address(parse_target(url), ip_address(address))
    except EgressRefused as exc:
        return exc.reason.value
    return None


def test_an_allowed_network_opens_its_addresses_only() -> None:
    policy = Policy(allow_internal=["10.0.0.0/8", "fd12::/16"])
    assert refusal(policy, "https://db.corp/", "10.1.2.3") is None
    assert refusal(policy, "https://db.corp/", "::ffff:10.1.2.3") is None  # same address
    assert refusal(policy, "https://db.corp/", "fd12::5") is None
    assert refusal(policy, "https://db.corp/", "192.168.0.1") == "private_address"
    assert refusal(policy, "https://db.corp/", "127.0.0.1") == "loopback_address"
    assert refusal(Policy(), "https://db.corp/", "10.1.2.3") == "private_address"


def test_an_allowed_name_opens_what_it_resolves_to() -> None:
    policy = Policy(allow_internal=["db.corp"])
    assert refusal(policy, "https://db.corp/", "10.1.2.3") is None
    assert refusal(policy, "https://db.corp./", "10.1.2.3") is None
    assert refusal(policy, "https://other.corp/", "10.1.2.3") == "private_address"


def test_metadata_addresses_need_to_be_named_exactly() -> None:
    wide = Policy(allow_internal=["169.254.0.0/16", "fd00:ec2::/32", "cloud.corp"])
    assert refusal(wide, "https://x.corp/", "169.254.1.1") is None
    assert refusal(wide, "https://x.corp/", "169.254.169.254") == "metadata_address"
    assert refusal(wide, "https://x.corp/", "fd00:ec2::254") == "metadata_address"
    assert refusal(wide, "https://cloud.corp/", "169.254.169.254") == "metadata_address"
    exact = Policy(allow_internal=["169.254.169.254/32"])
    assert refusal(exact, "https://x.corp/", "169.254.169.254") is None
    named = Policy(allow_internal=["metadata.google.internal"])
    assert named.check("https://metadata.google.internal/").host == "metadata.google.internal"
    with pytest.raises(EgressRefused) as info:
        Policy().check("https://metadata.google.internal/")
    assert info.value.reason == "metadata_address"


# -- plain HTTP (ENC-1) ----------------------------------------------------------------


def fetch_status(settings: Settings, url: str) -> int | str:
    async def go() -> int | str:
        async with client(settings, StaticResolver({"localhost": ["127.0.0.1"]})) as http:
            try:
                return (await http.fetch("GET", url)).status
            except EgressRefused as exc:
                return exc.reason.value

    return asyncio.run(go())


def test_plain_http_is_refused_unless_the_host_is_listed(upstream: HTTPServer) -> None:
    upstream.expect_request("/x").respond_with_data("ok")
    inside = {"egress_allow_internal": ["127.0.0.1/32"]}
    url = upstream.url_for("/x")
    assert fetch_status(strict_settings(**inside), url) == "plain_http"
    listed = strict_settings(**inside, egress_plain_http_hosts=["127.0.0.1"])
    assert fetch_status(listed, url) == 200
    other_name = url.replace("127.0.0.1", "localhost")  # the same server, under a name not listed
    assert fetch_status(listed, other_name) == "plain_http"
    assert len(upstream.log) == 1


def test_a_plain_http_refusal_names_the_host_only() -> None:
    with pytest.raises(EgressRefused) as info:
        Policy().check("http://api.example.com:8080/v1/pay?token=s3cr3t")
    assert info.value.reason == "plain_http"
    assert "api.example.com:8080" in info.value.message
    assert "s3cr3t" not in info.value.message and "/v1/pay" not in info.value.message


# -- settings ------------------------------------------------------------------------


def test_settings_read_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_EGRESS_ALLOW_INTERNAL", "10.0.0.0/8, db.corp ,[fd12::1]")
    monkeypatch.setenv("BASTION_EGRESS_PLAIN_HTTP_HOSTS", "legacy.corp")
    settings = Settings()
    assert settings.egress_allow_internal == ["10.0.0.0/8", "db.corp", "[fd12::1]"]
    assert settings.egress_plain_http_hosts == ["legacy.corp"]
    policy = Policy.from_settings(settings)
    assert refusal(policy, "https://db.corp/", "10.9.9.9") is None
    assert refusal(policy, "https://x.corp/", "fd12::1") is None


def test_settings_default_to_allowing_nothing() -> None:
    settings = Settings()
    assert settings.egress_allow_internal == [] and settings.egress_plain_http_hosts == []
    assert settings.egress_ca_file is None


@pytest.mark.parametrize(
    "entry", ["10.0.0.1/8", "127.1", "0x7f000001", "bad host", "a/b", "::1/200"]
)
def test_settings_refuse_bad_entries(entry: str) -> None:
    with pytest.raises(ValidationError):
        Settings(egress_allow_internal=[entry])
