"""Why an outbound request was refused or failed, as stable codes.

Messages name the host (and port) but never the path or the query: those can
carry tokens, and a message is stored with the step that failed and shown to
whoever reads the execution.
"""

from __future__ import annotations

from enum import StrEnum

from bastion.errors import Forbidden, Unavailable


class Refusal(StrEnum):
    """Stable reasons for refusing a request before (or instead of) sending it."""

    INVALID_URL = "invalid_url"
    USERINFO = "userinfo"
    PLAIN_HTTP = "plain_http"
    BAD_PORT = "bad_port"
    ODD_IP_ENCODING = "odd_ip_encoding"
    NOT_ALLOWED_HOST = "not_allowed_host"
    LOOPBACK_ADDRESS = "loopback_address"
    PRIVATE_ADDRESS = "private_address"
    LINK_LOCAL_ADDRESS = "link_local_address"
    METADATA_ADDRESS = "metadata_address"
    MULTICAST_ADDRESS = "multicast_address"
    RESERVED_ADDRESS = "reserved_address"


class Failure(StrEnum):
    """Stable reasons for a request that was allowed but did not complete."""

    DNS_FAILED = "dns_failed"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    TLS_FAILED = "tls_failed"
    INVALID_RESPONSE = "invalid_response"
    RESPONSE_TOO_LARGE = "response_too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"


# Failures a later attempt may not meet: the network or the server was busy.
_RETRYABLE = frozenset({Failure.DNS_FAILED, Failure.TIMEOUT, Failure.CONNECTION_FAILED})


class EgressRefused(Forbidden):
    """The egress policy refused the request; nothing was sent. ``reason`` is a Refusal."""

    code = "egress_refused"

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EgressFailed(Unavailable):
    """The request was allowed but failed on the way. ``reason`` is a Failure."""

    code = "egress_failed"

    def __init__(self, reason: Failure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = reason in _RETRYABLE
