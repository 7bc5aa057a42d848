"""Credential kinds: the fields of each kind's secret, and which of them may be shown.

Every field typed ``SecretStr`` is a secret value: it is sealed at rest, never
returned by the API or the CLI, and masked wherever it could appear. Every other
field is part of the kind's ``public`` view (a header name, a username, a host).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from bastion.errors import Invalid

MIN_SECRET = 8  # shorter values are guessable, and masking them would blot out ordinary text
MAX_SECRET = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$"


class Kind(StrEnum):
    api_key = "api_key"
    basic = "basic"
    bearer = "bearer"
    oauth2_client_credentials = "oauth2_client_credentials"
    database = "database"
    webhook_secret = "webhook_secret"  # noqa: S105 (a kind name)
    smtp = "smtp"


def _secret_text(value: SecretStr) -> SecretStr:
    # Messages never quote the value: validation errors are shown to the caller.
    text = value.get_secret_value()
    if len(text) < MIN_SECRET:
        raise ValueError(f"a secret value needs at least {MIN_SECRET} characters")
    if len(text) > MAX_SECRET:
        raise ValueError(f"a secret value holds at most {MAX_SECRET} characters")
    if _CONTROL.search(text):
        raise ValueError("a secret value may not hold control characters or line breaks")
    return value


SecretText = Annotated[SecretStr, AfterValidator(_secret_text)]
PlainText = Annotated[str, Field(min_length=1, max_length=500)]


class KindSecret(BaseModel):
    """The fields of one kind's secret. ``public`` is what may be shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[Kind]

    def public(self) -> dict[str, Any]:
        """The non-secret fields, safe to show."""
        return {
            name: value
            for name, value in self
            if not isinstance(value, SecretStr) and value is not None
        }

    def secret_values(self) -> list[str]:
        """Every secret value in clear: what the masker hides."""
        return [value.get_secret_value() for _, value in self if isinstance(value, SecretStr)]

    def reveal(self) -> dict[str, Any]:
        """Every field in clear: what is sealed, and what a step receives."""
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in self
            if value is not None
        }


class ApiKey(KindSecret):
    kind = Kind.api_key
    value: SecretText
    header: str | None = Field(default=None, pattern=_HEADER, description="Header to send it in")
    query: str | None = Field(default=None, pattern=_HEADER, description="Query parameter instead")

    @model_validator(mode="after")
    def _one_place(self) -> ApiKey:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of header or query: where the key is sent")
        return self


class Basic(KindSecret):
    kind = Kind.basic
    username: PlainText
    password: SecretText


class Bearer(KindSecret):
    kind = Kind.bearer
    token: SecretText


class OAuth2ClientCredentials(KindSecret):
    kind = Kind.oauth2_client_credentials
    token_url: str = Field(pattern=r"^https://[^\s/?#@]+(/[^\s]*)?$", max_length=2000)
    client_id: PlainText
    client_secret: SecretText
    scope: str | None = Field(default=None, max_length=2000)


class Database(KindSecret):
    kind = Kind.database
    url: SecretText

    @model_validator(mode="after")
    def _url(self) -> Database:
        try:
            parts = urlsplit(self.url.get_secret_value())
            password = parts.password
        except ValueError:
            raise ValueError("url is not a valid database URL") from None
        if not parts.scheme or (not parts.hostname and not parts.path):
            raise ValueError("url must look like scheme://user:password@host/database")
        if password is not None and len(unquote(password)) < MIN_SECRET:
            raise ValueError(f"the password in url needs at least {MIN_SECRET} characters")
        return self

    def public(self) -> dict[str, Any]:
        return {"url": _redacted_url(self.url.get_secret_value())}

    def secret_values(self) -> list[str]:
        url = self.url.get_secret_value()
        password = urlsplit(url).password
        if password is None:
            return [url]
        return list(dict.fromkeys([url, password, unquote(password)]))


class WebhookSecret(KindSecret):
    kind = Kind.webhook_secret
    secret: SecretText


class Smtp(KindSecret):
    kind = Kind.smtp
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1, max_length=500)
    password: SecretText
    tls: Literal["starttls", "tls"] = "starttls"


KINDS: dict[Kind, type[KindSecret]] = {
    cls.kind: cls
    for cls in (ApiKey, Basic, Bearer, OAuth2ClientCredentials, Database, WebhookSecret, Smtp)
}


def secret_fields(kind: Kind) -> list[str]:
    """The names of a kind's secret fields (those the CLI asks for with hidden input)."""
    model = KINDS[kind]
    return [name for name, f in model.model_fields.items() if _is_secret(f.annotation)]


def public_fields(kind: Kind) -> list[str]:
    model = KINDS[kind]
    return [name for name, f in model.model_fields.items() if not _is_secret(f.annotation)]


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr


def parse_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise Invalid(
            f"unknown credential kind {kind!r}; known: {known}", code="invalid_kind"
        ) from None


def parse_secret(kind: Kind, data: Mapping[str, Any]) -> KindSecret:
    """Validate ``data`` as the secret of ``kind``. Raises Invalid with one detail per
    problem; neither the message nor the details ever quote a submitted value."""
    try:
        return KINDS[kind].model_validate(dict(data))
    except ValidationError as exc:
        details = [
            {"pointer": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise Invalid(
            f"the secret is not a valid {kind.value} credential",
            code="invalid_secret",
            details=details,
        ) from None


def _redacted_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:****@{host}").geturl()
