"""The OutboundClient end to end: DNS pinning, size caps, redirects, cookies, messages."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bastion.egress import (
    AllowList,
    EgressFailed,
    EgressRefused,
    IPAddress,
    OutboundClient,
    OutboundResponse,
    Resolver,
    StaticResolver,
    SystemResolver,
)
from bastion.settings import Settings
from tests.egress.support import Recorder, answer, client, strict_settings

LOCAL = strict_settings(
    egress_allow_internal=["127.0.0.1/32"], egress_plain_http_hosts=["127.0.0.1"]
)


def fetch(http_client: OutboundClient, url: str, **options: Any) -> Any:
    async def go() -> Any:
        async with http_client as http:
            try:
                return await http.fetch(options.pop("method", "GET"), url, **options)
            except (EgressRefused, EgressFailed) as exc:
                return exc

    return asyncio.run(go())


# -- DNS: resolve once, check every answer, connect to the checked address ---------------


class Rebinding:
    """A DNS server that answers one address, then another, as a rebinding attack does."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ip_address(a) for a in answers]
        self.calls = 0

    async def resolve(self, host: str) -> list[IPAddress]:
        answer_ = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [answer_]


def test_the_checked_address_is_the_one_connected_to(upstream: HTTPServer) -> None:
    # 127.0.0.1 stands for the public answer (allowed in these settings); 127.0.0.2 for
    # the internal one the attacker switches to once the check has passed.
    upstream.expect_request("/x").respond_with_data("pinned")
    dns = Rebinding("127.0.0.1", "127.0.0.2")
    settings = strict_settings(
        egress_allow_internal=["127.0.0.1/32"], egress_plain_http_hosts=["rebind.test"]
    )
    response = fetch(
        OutboundClient(settings, resolver=dns), f"http://rebind.test:{upstream.port}/x"
    )
    assert isinstance(response, OutboundResponse), response
    assert (response.body, response.address) == (b"pinned", "127.0.0.1")
    assert dns.calls == 1, "resolved once: nothing asks the DNS again before connecting"
    request, _ = upstream.log[0]
    assert request.headers["Host"] == f"rebind.test:{upstream.port}"


def test_the_pinned_request_keeps_the_name_for_host_and_tls() -> None:
    network = Recorder()
    dns = Rebinding("93.184.216.34", "10.0.0.1")
    response = fetch(client(None, dns, network), "https://api.example.com/v1?x=1")
    assert response.address == "93.184.216.34"
    (sent,) = network.requests
    assert str(sent.url) == "https://93.184.216.34/v1?x=1"
    assert sent.headers["Host"] == "api.example.com"
    assert sent.extensions["sni_hostname"] == "api.example.com"


def test_a_name_with_one_internal_answer_is_refused_whole() -> None:
    network = Recorder()
    dns = StaticResolver({"mixed.example": ["93.184.216.34", "2606:4700::1", "192.168.0.9"]})
    refused = fetch(client(None, dns, network), "https://mixed.example/")
    assert refused.reason == "private_address"
    assert "192.168.0.9" in refused.message
    assert network.requests == []


def test_the_next_checked_address_is_tried_when_one_is_unreachable(upstream: HTTPServer) -> None:
    upstream.expect_request("/x").respond_with_data("second")
    settings = strict_settings(
        egress_allow_internal=["127.0.0.0/8"], egress_plain_http_hosts=["two.test"]
    )
    # Nothing listens on 127.0.0.3 at this port; the server is on 127.0.0.1.
    dns = StaticResolver({"two.test": ["127.0.0.3", "127.0.0.1"]})
    response = fetch(OutboundClient(settings, resolver=dns), f"http://two.test:{upstream.port}/x")
    assert (response.body, response.address) == (b"second", "127.0.0.1")


def test_every_resolver_satisfies_the_protocol() -> None:
    for resolver in (SystemResolver(), StaticResolver({}), Rebinding("192.0.2.1")):
        assert isinstance(resolver, Resolver)


def test_unresolvable_names_fail_retryably() -> None:
    failure = fetch(client(), "https://nowhere.test/")
    assert (failure.reason, failure.retryable) == ("dns_failed", True)


def test_the_system_resolver_answers_for_localhost() -> None:
    addresses = asyncio.run(SystemResolver().resolve("localhost"))
    assert addresses and all(a.is_loopback for a in addresses)
    with pytest.raises(EgressFailed):
        asyncio.run(SystemResolver().resolve("name.invalid"))


def test_the_allow_list_is_checked_before_any_lookup() -> None:
    dns = Rebinding("93.184.216.34")
    refused = fetch(
        client(None, dns, Recorder()),
        "https://evil.example.net/",
        allowed_hosts=AllowList.build(["api.example.com"]),
    )
    assert refused.reason == "not_allowed_host"
    assert dns.calls == 0


# -- the size cap, counted after decompression (API-3) -----------------------------


def test_bodies_over_the_cap_are_refused(upstream: HTTPServer) -> None:
    upstream.expect_request("/big").respond_with_data(b"x" * 1001)
    upstream.expect_request("/ok").respond_with_data(b"x" * 1000)
    assert fetch(OutboundClient(LOCAL), upstream.url_for("/ok"), max_bytes=1000).body == b"x" * 1000
    failure = fetch(OutboundClient(LOCAL), upstream.url_for("/big"), max_bytes=1000)
    assert (failure.reason, failure.retryable) == ("response_too_large", False)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_body_is_capped_after_decompression(
    upstream: HTTPServer, encoding: str
) -> None:
    plain = b"0" * 5000
    packed = gzip.compress(plain) if encoding == "gzip" else zlib.compress(plain)
    upstream.expect_request("/z").respond_with_data(packed, headers={"Content-Encoding": encoding})
    assert fetch(OutboundClient(LOCAL), upstream.url_for("/z"), max_bytes=5000).body == plain
    failure = fetch(OutboundClient(LOCAL), upstream.url_for("/z"), max_bytes=4999)
    assert failure.reason == "response_too_large"


def test_a_gzip_bomb_never_expands_in_memory(upstream: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 300_000
    upstream.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    tracemalloc.start()
    try:
        failure = fetch(OutboundClient(LOCAL), upstream.url_for("/bomb"), max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert failure.reason == "response_too_large"
    # A decoder that inflated whole network chunks would hold tens of MiB at once.
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("br", b"\x1b\x00"),
        ("gzip, gzip", b""),
        ("gzip", b"not gzip"),
        ("gzip", gzip.compress(b"cut", mtime=0)[:-8]),
    ],
    ids=["brotli", "stacked", "not-gzip", "truncated"],
)
def test_unknown_or_broken_encodings_are_invalid(
    upstream: HTTPServer, encoding: str, body: bytes
) -> None:
    upstream.expect_request("/e").respond_with_data(body, headers={"Content-Encoding": encoding})
    failure = fetch(OutboundClient(LOCAL), upstream.url_for("/e"))
    assert (failure.reason, failure.retryable) == ("invalid_response", False)


def test_only_decodable_encodings_are_asked_for(upstream: HTTPServer) -> None:
    upstream.expect_request("/x").respond_with_data("ok")
    fetch(OutboundClient(LOCAL), upstream.url_for("/x"))
    request, _ = upstream.log[0]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


# -- redirects -----------------------------------------------------------------------


@pytest.fixture
def other() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_redirects_are_followed_when_allowed_and_checked_again(
    upstream: HTTPServer, other: HTTPServer
) -> None:
    upstream.expect_request("/a").respond_with_data("", status=307, headers={"Location": "/b?n=1"})
    upstream.expect_request("/b").respond_with_data(
        "", status=302, headers={"Location": other.url_for("/c")}
    )
    other.expect_request("/c", method="GET").respond_with_data("landed")
    headers = {"Authorization": "Bearer s3cr3t", "X-Api-Key": "k", "Idempotency-Key": "e:s"}
    response = fetch(
        OutboundClient(LOCAL), upstream.url_for("/a"), method="POST", headers=headers,
        content=b"{}", max_redirects=2,
    )  # fmt: skip
    assert (response.body, response.redirects) == (b"landed", 2)
    (_, _), (second, _) = upstream.log
    assert second.method == "POST" and second.get_data() == b"{}", "307 keeps method and body"
    assert second.headers["Authorization"] == "Bearer s3cr3t", "same origin keeps headers"
    (third, _) = other.log[0]
    assert third.method == "GET" and third.get_data() == b"", "302 after POST becomes GET"
    assert "Authorization" not in third.headers and "X-Api-Key" not in third.headers
    assert third.headers["Idempotency-Key"] == "e:s"


def test_too_many_redirects_fail(upstream: HTTPServer) -> None:
    upstream.expect_request("/loop").respond_with_data(
        "", status=301, headers={"Location": "/loop"}
    )
    failure = fetch(OutboundClient(LOCAL), upstream.url_for("/loop"), max_redirects=3)
    assert failure.reason == "too_many_redirects"
    assert len(upstream.log) == 4


def test_a_redirect_leaves_the_allow_list_only_if_the_list_says_so(upstream: HTTPServer) -> None:
    upstream.expect_request("/a").respond_with_data(
        "", status=302, headers={"Location": "https://elsewhere.example.com/x"}
    )
    allow = AllowList.build([f"127.0.0.1:{upstream.port}"])
    failure = fetch(
        OutboundClient(LOCAL), upstream.url_for("/a"), allowed_hosts=allow, max_redirects=1
    )
    assert failure.reason == "not_allowed_host"


# -- what the client never does ------------------------------------------------------------


def test_cookies_are_never_kept(upstream: HTTPServer) -> None:
    upstream.expect_request("/set").respond_with_data(
        "", headers={"Set-Cookie": "session=abc; Path=/"}
    )
    upstream.expect_request("/next").respond_with_data("ok")

    async def go() -> None:
        async with OutboundClient(LOCAL) as http:
            await http.fetch("GET", upstream.url_for("/set"))
            await http.fetch("GET", upstream.url_for("/next"))

    asyncio.run(go())
    assert "Cookie" not in upstream.log[1][0].headers


def test_a_caller_cannot_choose_the_host_header(upstream: HTTPServer) -> None:
    upstream.expect_request("/x").respond_with_data("ok")
    fetch(OutboundClient(LOCAL), upstream.url_for("/x"), headers={"Host": "internal.corp"})
    assert upstream.log[0][0].headers["Host"] == f"127.0.0.1:{upstream.port}"


def test_failures_name_the_host_never_the_path_or_query(upstream: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        import time

        time.sleep(0.5)
        return Response("late")

    upstream.expect_request("/slow").respond_with_handler(slow)
    settings = LOCAL.model_copy(update={"step_timeout_seconds": 0.1})
    failure = fetch(OutboundClient(settings), upstream.url_for("/slow") + "?token=s3cr3t")
    assert (failure.reason, failure.retryable) == ("timeout", True)
    assert f"127.0.0.1:{upstream.port}" in failure.message
    assert "s3cr3t" not in failure.message and "/slow" not in failure.message
    assert failure.__suppress_context__ is True


def test_the_per_call_timeout_applies() -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("stuck", request=request)

    failure = fetch(client(None, Rebinding("93.184.216.34"), Recorder(never)), "https://a.example/")
    assert failure.reason == "timeout"


def test_proxies_from_the_environment_are_ignored(
    upstream: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.expect_request("/x").respond_with_data("direct")
    # A proxy that would refuse the connection (nothing listens on port 1).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    assert fetch(OutboundClient(LOCAL), upstream.url_for("/x")).body == b"direct"


def test_settings_are_what_the_client_enforces() -> None:
    # The same URL, two administrators: one allows the host's network, one does not.
    network = Recorder(lambda request: answer(204))
    dns = StaticResolver({"db.corp": ["10.2.3.4"]})
    open_ = Settings(egress_allow_internal=["10.0.0.0/8"])
    assert fetch(client(open_, dns, network), "https://db.corp/").status == 204
    refused = fetch(client(strict_settings(), dns, Recorder()), "https://db.corp/")
    assert refused.reason == "private_address"
