"""The one TLS configuration for outbound requests (ENC-1)."""

from __future__ import annotations

import ssl

import httpx

from bastion.errors import Invalid
from bastion.settings import Settings


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A client context that verifies the certificate and its host name and speaks
    TLS 1.2 or newer, whatever the platform's defaults say.

    Trusts the public CA bundle that ships with httpx (certifi), plus
    ``egress_ca_file`` when set (a private CA for internal services). There is
    deliberately no setting that turns verification off. Raises Invalid when the
    CA file cannot be read.
    """
    # trust_env=False: SSL_CERT_FILE in the environment must not swap the trust store.
    context = httpx.create_ssl_context(trust_env=False)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if settings.egress_ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(settings.egress_ca_file))
        except (OSError, ssl.SSLError) as exc:
            message = f"egress_ca_file {settings.egress_ca_file} is not a readable PEM bundle"
            raise Invalid(f"{message} ({type(exc).__name__})", code="invalid_setting") from None
    return context
