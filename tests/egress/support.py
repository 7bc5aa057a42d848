"""Helpers for the egress tests: a stand-in network, settings that allow nothing, and a
private CA made on the spot with ``cryptography``."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastion.egress import OutboundClient, Resolver, StaticResolver
from bastion.settings import Settings


class Body(httpx.AsyncByteStream):
    """A response body that arrives as a stream, as it does from a real server."""

    def __init__(self, data: bytes = b"") -> None:
        self._data = data

    async def __aiter__(self) -> Any:
        yield self._data


def answer(status: int = 200, body: bytes = b"ok", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=Body(body))


class Recorder(httpx.AsyncBaseTransport):
    """Stands in for the network underneath the guard: it records what would have been
    sent and answers, without opening a socket. A check that is missing therefore shows
    up as a recorded request, never as traffic to an address no test may reach."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response] | None = None):
        self.requests: list[httpx.Request] = []
        self._respond = respond or (lambda request: answer())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._respond(request)


def strict_settings(**overrides: Any) -> Settings:
    """Settings that allow nothing internal and no plain HTTP (the production defaults)."""
    base: dict[str, Any] = {
        "egress_allow_internal": [],
        "egress_plain_http_hosts": [],
        "egress_ca_file": None,
        "step_timeout_seconds": 5.0,
        "egress_connect_timeout_seconds": 5.0,
    }
    return Settings(**{**base, **overrides})


def client(
    settings: Settings | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OutboundClient:
    return OutboundClient(
        settings or strict_settings(), resolver=resolver or StaticResolver({}), transport=transport
    )


@dataclass
class Certificates:
    """A CA and one server certificate it issued, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path, names: Iterable[str]) -> Certificates:
    """A fresh CA, and a server certificate for ``names`` (DNS names or IP addresses)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test CA {directory.name}")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server")])
    cert = (
        _builder(subject, ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
