"""ENC-1: outbound TLS is verified against the original host name, with a private CA only
when an administrator adds one, and never below TLS 1.2.

The HTTPS server listens on 127.0.0.1 with a certificate for ``api.test`` from a CA
made for the test; a fixed resolver maps the test names to it (these tests are not
about SSRF, so their settings allow 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bastion import codec
from bastion.egress import EgressFailed, StaticResolver, tls_context
from bastion.errors import Invalid
from bastion.settings import Settings
from tests.egress.support import Certificates, client, make_certificates, strict_settings

NAMES = StaticResolver({"api.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "pki", ["api.test"])


class TlsServer:
    def __init__(self, context: ssl.SSLContext) -> None:
        self.sni: list[str | None] = []
        context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self.http = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
        self.http.expect_request("/hello").respond_with_json({"hello": "tls"})

    def url(self, host: str, path: str = "/hello") -> str:
        return f"https://{host}:{self.http.port}{path}"


def server_context(certs: Certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert_file, certs.key_file)
    return context


@pytest.fixture
def server(certs: Certificates) -> Iterator[TlsServer]:
    served = TlsServer(server_context(certs))
    served.http.start()
    yield served
    served.http.stop()


def trusting(certs: Certificates | None, **overrides: Any) -> Settings:
    ca = {"egress_ca_file": certs.ca_file} if certs else {}
    return strict_settings(egress_allow_internal=["127.0.0.1/32"], **ca, **overrides)


def outcome(settings: Settings, url: str) -> Any:
    async def go() -> Any:
        async with client(settings, NAMES) as http:
            try:
                response = await http.fetch("GET", url)
            except EgressFailed as exc:
                return exc
            return response

    return asyncio.run(go())


def test_a_private_ca_in_settings_is_trusted_for_the_original_name(
    certs: Certificates, server: TlsServer
) -> None:
    response = outcome(trusting(certs), server.url("api.test"))
    assert (response.status, codec.loads(response.body)) == (200, {"hello": "tls"})
    assert response.address == "127.0.0.1"
    assert server.sni == ["api.test"], "SNI carries the name, not the address connected to"
    request, _ = server.http.log[0]
    assert request.headers["Host"] == f"api.test:{server.http.port}"


def test_an_unknown_ca_is_refused(server: TlsServer) -> None:
    failure = outcome(trusting(None), server.url("api.test"))
    assert isinstance(failure, EgressFailed)
    assert (failure.reason, failure.retryable) == ("tls_failed", False)
    assert "issuer certificate" in failure.message
    assert server.http.log == []


def test_the_environment_cannot_add_a_ca(
    certs: Certificates, server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs.ca_file.parent))
    assert outcome(trusting(None), server.url("api.test")).reason == "tls_failed"


def test_a_certificate_for_another_name_is_refused(certs: Certificates, server: TlsServer) -> None:
    failure = outcome(trusting(certs), server.url("other.test"))
    assert failure.reason == "tls_failed"
    assert "other.test" in failure.message  # the mismatch names the host, never the path
    failure = outcome(trusting(certs), server.url("127.0.0.1"))
    assert failure.reason == "tls_failed", "the address connected to is not what is verified"
    assert server.http.log == []


def test_the_client_context_requires_tls_1_2_and_verification(certs: Certificates) -> None:
    context = tls_context(trusting(certs))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True


def test_an_unreadable_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    for path in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        with pytest.raises(Invalid) as info:
            tls_context(strict_settings(egress_ca_file=path))
        assert info.value.code == "invalid_setting"


def weak(context: ssl.SSLContext) -> ssl.SSLContext:
    """What an old platform configuration allows: TLS 1.0 and weak parameters."""
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def speaks_tls_1_1(server: TlsServer, certs: Certificates) -> bool:
    """Whether this OpenSSL can serve TLS 1.1 at all (a permissive stdlib client asks)."""
    probe = weak(ssl.create_default_context(cafile=str(certs.ca_file)))
    try:
        with (
            socket.create_connection(("127.0.0.1", server.http.port), timeout=5) as raw,
            probe.wrap_socket(raw, server_hostname="api.test") as tls,
        ):
            return tls.version() == "TLSv1.1"
    except (ssl.SSLError, OSError):
        return False


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_a_tls_1_1_server_is_refused_even_where_the_platform_allows_it(
    certs: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = weak(server_context(certs))
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    old = TlsServer(context)
    old.http.start()
    try:
        if not speaks_tls_1_1(old, certs):
            # This OpenSSL cannot serve TLS 1.1: what remains to prove is the client's floor.
            assert tls_context(trusting(certs)).minimum_version == ssl.TLSVersion.TLSv1_2
            return
        platform_default = ssl.create_default_context
        monkeypatch.setattr(
            ssl, "create_default_context", lambda *a, **k: weak(platform_default(*a, **k))
        )
        failure = outcome(trusting(certs), old.url("api.test"))
        assert isinstance(failure, EgressFailed) and failure.reason == "tls_failed"
        assert old.http.log == []
    finally:
        old.http.stop()
