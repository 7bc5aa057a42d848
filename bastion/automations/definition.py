"""The automation definition format: pydantic models, and so the published JSON Schema.

A definition is a trigger and a list of steps. Each step has exactly one kind
key (``http``, ``transform``, ``condition``, ``log``, ``wait``) whose value
holds that kind's options, which keeps error locations readable:
``/steps/2/http/url`` rather than a union member's name.

Checks that need the whole document (unique step ids, forward-only branches,
references to earlier steps) live in ``validation.py``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bastion.clock import parse_duration
from bastion.throttle import parse_limit, parse_network

NAME_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"
CREDENTIAL_PATTERN = r"^cred:[a-z][a-z0-9-]{1,62}$"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
STEP_KINDS = ("http", "transform", "condition", "log", "wait")
TRIGGER_KINDS = ("manual", "webhook", "schedule")


class Sensitivity(StrEnum):
    low = "low"
    normal = "normal"
    sensitive = "sensitive"
    critical = "critical"


class DataCategory(StrEnum):
    personal = "personal"
    special = "special"
    financial = "financial"
    secret = "secret"  # noqa: S105 (a data category, not a secret)


class LegalBasis(StrEnum):
    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"
    legitimate_interests = "legitimate_interests"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Duration = str


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


class DataPolicy(Strict):
    categories: list[DataCategory] = Field(default_factory=list)
    legal_basis: LegalBasis | None = None
    retention: Duration | None = Field(default=None, description="e.g. 30d")

    _check_retention = field_validator("retention")(_duration)


JsonSchema = dict[str, Any]


def _rate(value: str | None) -> str | None:
    if value is not None:
        parse_limit(value)
    return value


def _network(value: str) -> str:
    parse_network(value)
    return value


Network = Annotated[str, AfterValidator(_network)]


class ManualTrigger(Strict):
    schema_: JsonSchema | None = Field(default=None, alias="schema")


class WebhookTrigger(Strict):
    respond: Literal["accepted", "result"] = Field(
        default="accepted",
        description="accepted: 202 with the execution id; result: wait and return the output",
    )
    schema_: JsonSchema | None = Field(
        default=None, alias="schema", description="JSON Schema the request body must match"
    )
    rate_limit: str | None = Field(
        default=None,
        description="Most requests this webhook accepts, e.g. '100/second' "
        "(default BASTION_WEBHOOK_RATE_LIMIT)",
    )
    source_rate_limit: str | None = Field(
        default=None,
        description="Most requests from one source address, e.g. '10/second' "
        "(default BASTION_WEBHOOK_SOURCE_RATE_LIMIT)",
    )
    allow_ips: list[Network] | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Addresses or CIDRs that may call; requests from elsewhere get 403",
    )

    _check_rates = field_validator("rate_limit", "source_rate_limit")(_rate)


class ScheduleTrigger(Strict):
    cron: str = Field(description="Five-field cron expression, e.g. '*/5 * * * *'")
    timezone: str = "UTC"
    input: Any = None


class Trigger(Strict):
    manual: ManualTrigger | None = None
    webhook: WebhookTrigger | None = None
    schedule: ScheduleTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in TRIGGER_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a trigger has exactly one of {', '.join(TRIGGER_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) is not None)

    @property
    def input_schema(self) -> JsonSchema | None:
        if self.webhook is not None:
            return self.webhook.schema_
        if self.manual is not None:
            return self.manual.schema_
        return None


class Retry(Strict):
    attempts: int = Field(default=1, ge=1, le=10, description="Total attempts, 1 = no retry")
    backoff: Duration = "1s"
    max_backoff: Duration = "5m"

    _check = field_validator("backoff", "max_backoff")(_duration)


class ResponseCheck(Strict):
    status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    schema_: JsonSchema | None = Field(default=None, alias="schema")


class HttpOptions(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(description="An absolute https:// URL, or a reference to one")
    headers: dict[str, Any] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    json_: Any = Field(default=None, alias="json")
    response: ResponseCheck = Field(default_factory=ResponseCheck)
    credential: str | None = Field(
        default=None,
        pattern=CREDENTIAL_PATTERN,
        description="A vault credential the request is authenticated with, e.g. cred:bank-api",
    )


class TransformOptions(Strict):
    value: Any = Field(description="Any JSON value; '$.' strings are references")


class ConditionOptions(Strict):
    if_: str = Field(alias="if", description="A reference whose value is tested for truth")
    then: str | None = Field(default=None, description="Step id to go to, or 'end'")
    else_: str | None = Field(default=None, alias="else", description="Step id to go to, or 'end'")


class LogOptions(Strict):
    message: str
    level: Literal["debug", "info", "warning", "error"] = "info"
    fields: dict[str, Any] = Field(default_factory=dict)


class WaitOptions(Strict):
    for_: Duration = Field(alias="for", description="How long to wait, e.g. 10m")

    _check = field_validator("for_")(_duration)


class Step(Strict):
    id: str = Field(pattern=STEP_ID_PATTERN)
    name: str | None = None
    timeout: Duration | None = None
    retry: Retry = Field(default_factory=Retry)
    http: HttpOptions | None = None
    transform: TransformOptions | None = None
    condition: ConditionOptions | None = None
    log: LogOptions | None = None
    wait: WaitOptions | None = None

    _check_timeout = field_validator("timeout")(_duration)

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a step has exactly one of {', '.join(STEP_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def options(self) -> Strict:
        return getattr(self, self.kind)  # type: ignore[no-any-return]


# An egress host pattern: "api.example.com", "*.example.com", "10.0.0.5", "[2001:db8::1]",
# each with an optional ":port". bastion.egress.hosts parses the same syntax (it sits in
# a higher layer); tests/egress/test_hosts.py keeps the two in agreement.
_EGRESS_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_EGRESS_NAME = re.compile(rf"^{_EGRESS_LABEL}(\.{_EGRESS_LABEL})*$")
_EGRESS_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_EGRESS_PORT = re.compile(r"^[0-9]{1,5}$")


def _egress_host(value: str) -> str:
    text = value.strip().lower()
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None if not rest else "x"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if port is not None and not (_EGRESS_PORT.match(port) and 0 < int(port) < 65536):
        raise ValueError("the port must be a number from 1 to 65535")
    if not _egress_host_ok(host, bracketed=text.startswith("[")):
        raise ValueError(
            "not a host pattern: write 'api.example.com', '*.example.com', an IPv4 address "
            "or a bracketed IPv6 address, each with an optional ':port'"
        )
    return value


def _egress_host_ok(host: str, *, bracketed: bool) -> bool:
    if bracketed:
        return ":" in host and "%" not in host and _is_ip(host)
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    if _EGRESS_NUMBER.match(name.rsplit(".", 1)[-1]):  # reads as an IPv4 address
        return not wildcard and _is_ip(name)
    return len(name) <= 253 and bool(_EGRESS_NAME.match(name)) and (not wildcard or "." in name)


def _is_ip(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


EgressHost = Annotated[str, AfterValidator(_egress_host)]


class Egress(Strict):
    hosts: list[EgressHost] = Field(
        default_factory=list,
        max_length=200,
        description="Hosts the http steps may reach besides their literal URLs' hosts: "
        "'api.example.com', '*.example.com', optionally with ':port'",
    )


class Definition(Strict):
    """One automation: who owns it, what data it touches, its trigger and its steps."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Bastion automation",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    sensitivity: Sensitivity = Sensitivity.normal
    purpose: str | None = Field(default=None, max_length=2000)
    data: DataPolicy = Field(default_factory=DataPolicy)
    egress: Egress = Field(default_factory=Egress)
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=100)
    output: Any = Field(default=None, description="What the execution returns; a template")
    deadline: Duration | None = Field(default=None, description="Execution deadline, e.g. 1h")

    _check_deadline = field_validator("deadline")(_duration)

    def document(self) -> dict[str, Any]:
        """The canonical JSON document: what is stored, hashed and diffed."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def json_schema() -> dict[str, Any]:
    return Definition.model_json_schema(by_alias=True)
