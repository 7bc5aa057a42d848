"""NET-1 / SA-2: per-automation egress allow-lists, and their syntax checked on apply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.automations.definition import Egress
from bastion.automations.errors import DefinitionInvalid
from bastion.automations.loader import load_definition
from bastion.egress import AllowList, EgressRefused, HostPattern, parse_target
from bastion.errors import Invalid

GOOD = [
    "api.example.com",
    "API.Example.com",
    "api.example.com:8443",
    "*.example.com",
    "*.eu.example.com:443",
    "localhost",
    "svc_1.internal-corp.example",
    "93.184.216.34",
    "93.184.216.34:8080",
    "[2606:4700::1111]",
    "[2606:4700::1111]:8443",
    "xn--bcher-kva.de",
]
BAD = [
    "",
    "*",
    "*.com",
    "*.*.example.com",
    "a.*.example.com",
    "*example.com",
    "example.com.",
    "example.com:",
    "example.com:0",
    "example.com:65536",
    "example.com:http",
    "example.com:+80",
    "https://example.com",
    "example.com/path",
    "user@example.com",
    "bücher.de",
    "-bad.example.com",
    "bad-.example.com",
    "exa mple.com",
    "2001:db8::1",
    "[1.2.3.4]",
    "[2001:db8::1]x",
    "[fe80::1%eth0]",
    "127.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "example.123",
    "*.1.2.3.4",
    "a" * 64 + ".example.com",
]


@pytest.mark.parametrize("pattern", GOOD)
def test_good_patterns_parse_here_and_in_definitions(pattern: str) -> None:
    HostPattern.parse(pattern)
    Egress.model_validate({"hosts": [pattern]})


@pytest.mark.parametrize("pattern", BAD)
def test_bad_patterns_are_refused_here_and_in_definitions(pattern: str) -> None:
    with pytest.raises(Invalid) as info:
        HostPattern.parse(pattern)
    assert info.value.code == "invalid_egress_host"
    with pytest.raises(ValidationError):
        Egress.model_validate({"hosts": [pattern]})


@pytest.mark.parametrize(
    ("pattern", "url", "allowed"),
    [
        ("api.example.com", "https://api.example.com/x", True),
        ("api.example.com", "https://API.example.com./x", True),
        ("api.example.com", "http://api.example.com/x", True),  # default port of http
        ("api.example.com", "https://api.example.com:8443/x", False),
        ("api.example.com", "https://api.example.com.evil.com/x", False),
        ("api.example.com", "https://evilapi.example.com/x", False),
        ("api.example.com:8443", "https://api.example.com:8443/x", True),
        ("api.example.com:8443", "https://api.example.com/x", False),
        ("*.example.com", "https://a.example.com/", True),
        ("*.example.com", "https://a.b.example.com/", True),
        ("*.example.com", "https://example.com/", False),
        ("*.example.com", "https://badexample.com/", False),
        ("*.example.com", "https://a.example.com:444/", False),
        ("*.example.com:444", "https://a.example.com:444/", True),
        ("93.184.216.34", "https://93.184.216.34/", True),
        ("93.184.216.34", "https://93.184.216.35/", False),
        ("[2606:4700::1111]", "https://[2606:4700:0::1111]/", True),
        ("xn--bcher-kva.de", "https://bücher.de/", True),
    ],
)
def test_matching(pattern: str, url: str, allowed: bool) -> None:
    assert AllowList.build([pattern]).allows(parse_target(url)) is allowed


def test_literal_urls_allow_their_host_and_explicit_port() -> None:
    allow = AllowList.build(
        ["hooks.example.com"],
        ["https://api.example.com/v1", "http://127.0.0.1:5001/op", "not a url"],
    )
    assert allow.allows(parse_target("https://api.example.com/other?q=1"))
    assert allow.allows(parse_target("http://127.0.0.1:5001/else"))
    assert not allow.allows(parse_target("http://127.0.0.1:5002/op"))
    assert allow.allows(parse_target("https://hooks.example.com/x"))
    assert not allow.allows(parse_target("https://example.com/"))
    assert [str(p) for p in allow.patterns] == [
        "hooks.example.com", "api.example.com", "127.0.0.1:5001",
    ]  # fmt: skip


def test_a_host_outside_the_list_is_refused_with_its_name_only() -> None:
    with pytest.raises(EgressRefused) as info:
        AllowList.build(["api.example.com"]).check(
            parse_target("https://evil.example.net/steal?token=s3cr3t")
        )
    assert info.value.reason == "not_allowed_host"
    assert "evil.example.net" in info.value.message
    assert "s3cr3t" not in info.value.message and "steal" not in info.value.message


def test_an_empty_list_allows_nothing() -> None:
    assert not AllowList.build().allows(parse_target("https://api.example.com/"))


DEFINITION = """
name: sync
owner: ops
egress:
  hosts:
    - api.example.com
    - "*.com"
    - crm.example.com:99999
trigger: {manual: {}}
steps:
  - id: call
    http: {url: $.trigger.body.url}
"""


def test_bad_patterns_are_refused_when_a_definition_is_applied() -> None:
    with pytest.raises(DefinitionInvalid) as info:
        load_definition(DEFINITION, "sync.yaml")
    located = [(p.pointer, p.line) for p in info.value.problems]
    assert located == [("/egress/hosts/1", 7), ("/egress/hosts/2", 8)]
    assert "port" in info.value.problems[1].message


def test_egress_is_optional_and_left_out_of_the_stored_document() -> None:
    defn = load_definition(DEFINITION.replace('    - "*.com"\n', "").replace(":99999", ""))
    assert defn.egress.hosts == ["api.example.com", "crm.example.com"]
    plain = load_definition(
        "name: ab\nowner: o\ntrigger: {manual: {}}\nsteps: [{id: a, wait: {for: 1s}}]"
    )
    assert "egress" not in plain.document()
