"""Credential kinds: each validates its fields, shows only the public ones, and a
refusal never quotes a submitted value."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.errors import Invalid
from bastion.vault import Kind, parse_secret, public_fields, secret_fields

GOOD: dict[Kind, dict[str, Any]] = {
    Kind.api_key: {"value": "key-0123456789", "header": "X-Api-Key"},
    Kind.basic: {"username": "svc-billing", "password": "pw-0123456789"},
    Kind.bearer: {"token": "tok-0123456789"},
    Kind.oauth2_client_credentials: {
        "token_url": "https://idp.example.com/token", "client_id": "billing",
        "client_secret": "cs-0123456789", "scope": "payments:write",
    },
    Kind.database: {"url": "postgresql://app:pw-0123456789@db.example.com:5432/app"},
    Kind.webhook_secret: {"secret": "whsec-0123456789"},
    Kind.smtp: {"host": "smtp.example.com", "port": 587, "username": "mailer",
                "password": "pw-0123456789", "tls": "starttls"},
}  # fmt: skip


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_shows_only_its_public_fields(kind: Kind) -> None:
    secret = parse_secret(kind, GOOD[kind])
    public = str(secret.public())
    for value in secret.secret_values():
        assert value not in public
        assert value not in repr(secret)
    assert secret.reveal() == GOOD[kind]
    assert secret_fields(kind)


def test_database_url_is_shown_without_its_password() -> None:
    secret = parse_secret(Kind.database, GOOD[Kind.database])
    assert secret.public() == {"url": "postgresql://app:****@db.example.com:5432/app"}
    assert "pw-0123456789" in secret.secret_values()


@pytest.mark.parametrize(
    ("kind", "data", "pointer"),
    [
        (Kind.bearer, {"token": "short"}, "/token"),
        (Kind.bearer, {"token": "tab\tinside-0123"}, "/token"),
        (Kind.api_key, {"value": "key-0123456789"}, "/"),
        (Kind.api_key, {"value": "key-0123456789", "header": "X", "query": "k"}, "/"),
        (Kind.basic, {"username": "u", "password": "pw-0123456789", "extra": "x"}, "/extra"),
        (Kind.oauth2_client_credentials,
         {"token_url": "http://idp/token", "client_id": "c", "client_secret": "cs-0123456789"},
         "/token_url"),
        (Kind.database, {"url": "postgresql://app:short@db/app"}, "/"),
    ],
)  # fmt: skip
def test_bad_secrets_are_refused_without_echoing_them(
    kind: Kind, data: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(Invalid) as caught:
        parse_secret(kind, data)
    assert caught.value.code == "invalid_secret"
    assert pointer in [d["pointer"] for d in caught.value.details]
    shown = str(caught.value.message) + str(caught.value.details)
    for value in data.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in shown


@pytest.mark.parametrize(
    "data",
    [
        {"url": "x" * 9000},
        {"url": "http://[::1"},  # not parseable
        {"url": "no-scheme-at-all"},
    ],
)
def test_bad_database_urls_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(Invalid):
        parse_secret(Kind.database, data)


def test_a_database_url_without_a_password_is_shown_and_masked_whole() -> None:
    secret = parse_secret(Kind.database, {"url": "sqlite:///var/lib/app/data.db"})
    assert secret.public() == {"url": "sqlite:///var/lib/app/data.db"}
    assert secret.secret_values() == ["sqlite:///var/lib/app/data.db"]


def test_public_fields_are_listed_per_kind() -> None:
    assert public_fields(Kind.smtp) == ["host", "port", "username", "tls"]
    assert public_fields(Kind.bearer) == []
