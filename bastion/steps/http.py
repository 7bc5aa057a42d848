"""The ``http`` step: one outbound request whose answer is checked before it is trusted.

``_build`` turns the compiled templates into a request, ``_send`` performs it
through ``bastion.egress.OutboundClient`` (SSRF guard, TLS 1.2+, plain HTTP
refused, this automation's allow-list, a body cap counted after decompression:
NET-1, ENC-1), and ``_validate`` decides whether the answer is acceptable and
what the step outputs (API-3).

The allow-list is the host of every literal URL in the automation plus its
``egress.hosts``: a URL that comes from a reference must match one of them, so
data cannot steer a request to a host the definition never named.

Messages never echo a URL or a response body: query strings and bodies may
hold secrets, and a StepFailed message is stored and shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import validators
from jsonschema.exceptions import SchemaError, best_match
from referencing import Registry
from referencing.exceptions import Unresolvable

from bastion import codec
from bastion.automations.definition import Definition, HttpOptions
from bastion.automations.expressions import Template, is_reference
from bastion.egress import (
    AllowList,
    EgressFailed,
    EgressRefused,
    OutboundClient,
    OutboundResponse,
    parse_target,
)
from bastion.errors import Invalid
from bastion.steps.base import Needs, StepContext, StepFailed, StepResult
from bastion.steps.credentials import attach

MAX_BODY = 10 * 1024 * 1024
SAFE_HEADERS = ("content-type", "content-length", "etag", "location")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Host could route past an egress allowlist; the framing headers could smuggle
# a second request. The client sets all of them itself.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_Scalar = str | int | float | bool


@dataclass(frozen=True)
class _Request:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    content: bytes | None


class HttpStep:
    """Sends one request through ``ctx.http`` (an OutboundClient); outputs
    ``{"status", "headers", "body"}``.

    ``allowed`` is the automation's allow-list (``allow_list``); a step built on
    its own may reach only its own literal URL's host.

    Raises StepFailed: ``invalid_url``, ``invalid_request``, every egress refusal
    by its reason (``not_allowed_host``, ``plain_http``, ``private_address``, ...),
    ``timeout``, ``connection_failed`` and ``dns_failed`` (retryable),
    ``tls_failed``, ``response_too_large``, ``unexpected_status`` (retryable for
    5xx and 429), ``invalid_response``, ``response_schema``. The constructor
    raises Invalid for a bad header name, response schema or egress pattern, and
    ExpressionError for a bad reference.
    """

    def __init__(self, options: HttpOptions, allowed: AllowList | None = None) -> None:
        self.method = options.method
        self.statuses = frozenset(options.response.status)
        self._url = Template(options.url)
        self._headers = Template(_checked_header_names(options.headers))
        self._query = Template(options.query)
        self._json = None if options.json_ is None else Template(options.json_)
        self._schema = _schema_validator(options.response.schema_)
        self._credential = options.credential
        self.needs = Needs(
            credentials=frozenset({options.credential}) if options.credential else frozenset(),
            egress=_literal_host(options.url),
            effects=options.method != "GET",
        )
        literal = () if is_reference(options.url) else (options.url,)
        self.allowed = allowed if allowed is not None else AllowList.build(literal_urls=literal)

    async def run(self, ctx: StepContext) -> StepResult:
        client = _outbound(ctx.http)
        request = self._build(ctx)
        if self._credential is not None:
            lease = await ctx.lease(self._credential)
            url = await attach(lease, request.headers, request.url, client)
            request = _Request(request.method, url, request.headers, request.content)
        started = ctx.clock.monotonic()
        response = await _send(client, request, self.allowed)
        elapsed_ms = round((ctx.clock.monotonic() - started) * 1000)
        output = self._validate(response)
        return StepResult(
            output=output, meta={"status": response.status, "duration_ms": elapsed_ms}
        )

    def _build(self, ctx: StepContext) -> _Request:
        url = _absolute_url(self._url.render(ctx.data))
        query = _query_params(self._query.render(ctx.data))
        if query:
            # Merged by hand: httpx's ``params=`` replaces a query already in the URL.
            url = url.copy_merge_params(query)
        headers = _header_values(self._headers.render(ctx.data))
        content = None
        if self._json is not None:
            content = codec.dumps(self._json.render(ctx.data))
            headers.setdefault("content-type", "application/json")
        if self.method != "GET":
            headers["Idempotency-Key"] = ctx.idempotency_key
        return _Request(self.method, url, headers, content)

    def _validate(self, response: OutboundResponse) -> dict[str, Any]:
        if response.status not in self.statuses:
            raise StepFailed(
                f"unexpected HTTP status {response.status}",
                code="unexpected_status",
                retryable=response.status >= 500 or response.status == 429,
            )
        body = _parse_body(response)
        if self._schema is not None:
            _check_schema(self._schema, body)
        headers = {k: v for k in SAFE_HEADERS if (v := response.headers.get(k)) is not None}
        return {"status": response.status, "headers": headers, "body": body}


def allow_list(definition: Definition) -> AllowList:
    """The hosts the http steps of ``definition`` may reach: each literal URL's host
    (with its port, if it names one) and every ``egress.hosts`` pattern.
    Raises Invalid for a bad pattern (refused already when the definition was applied)."""
    literal = [
        step.http.url
        for step in definition.steps
        if step.http is not None and not is_reference(step.http.url)
    ]
    return AllowList.build(definition.egress.hosts, literal)


def _outbound(http: httpx.AsyncClient) -> OutboundClient:
    if not isinstance(http, OutboundClient):
        # Fail closed: a plain client would skip every egress check.
        raise TypeError("the http step sends only through bastion.egress.OutboundClient")
    return http


async def _send(client: OutboundClient, request: _Request, allowed: AllowList) -> OutboundResponse:
    """Send without following redirects and read at most MAX_BODY bytes (decoded)."""
    try:
        return await client.fetch(
            request.method, request.url, headers=request.headers, content=request.content,
            max_bytes=MAX_BODY, allowed_hosts=allowed,
        )  # fmt: skip
    except EgressRefused as exc:
        raise StepFailed(exc.message, code=exc.reason.value) from None
    except EgressFailed as exc:
        raise StepFailed(exc.message, code=exc.reason.value, retryable=exc.retryable) from None


def _absolute_url(value: Any) -> httpx.URL:
    """The URL, parsed once by the egress layer's parser (the one the request uses)."""
    if not isinstance(value, str):
        message = f"the URL must be an absolute http:// or https:// URL, not {type(value).__name__}"
        raise StepFailed(message, code="invalid_url")
    try:
        return parse_target(value).url
    except EgressRefused as exc:
        raise StepFailed(exc.message, code=exc.reason.value) from None


def _literal_host(url: str) -> frozenset[str]:
    """The egress host a literal URL declares; a reference declares none until rendered."""
    if is_reference(url):
        return frozenset()
    try:
        return frozenset({parse_target(url).host})
    except EgressRefused:
        return frozenset()  # refused at run time with the same message


def _checked_header_names(headers: dict[str, Any]) -> dict[str, Any]:
    for name in headers:
        if not _TOKEN.match(name):
            raise Invalid(f"header name {name!r} is not a valid HTTP token", code="invalid_header")
        if name.lower() in _RESERVED_HEADERS:
            raise Invalid(f"header {name!r} is set by Bastion itself", code="invalid_header")
    return headers


def _header_values(rendered: dict[str, Any]) -> httpx.Headers:
    headers = httpx.Headers()
    for name, value in rendered.items():
        if value is None:
            continue
        text = _scalar_text(value, f"header {name!r}")
        if any(c in text for c in "\r\n\0"):
            raise StepFailed(f"header {name!r} holds a line break or NUL", code="invalid_request")
        headers[name] = text
    return headers


def _query_params(rendered: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    params: list[tuple[str, str]] = []
    for name, value in rendered.items():
        values = value if isinstance(value, list) else [value]
        where = f"query parameter {name!r}"
        params += [(name, _scalar_text(v, where)) for v in values if v is not None]
    return tuple(params)


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # JSON spelling, not Python's
    if isinstance(value, _Scalar):
        return str(value)
    message = f"{where} must be a string, number or boolean, not {type(value).__name__}"
    raise StepFailed(message, code="invalid_request")


def _parse_body(response: OutboundResponse) -> Any:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media_type == "application/json" or media_type.endswith("+json")):
        return response.body.decode(response.encoding, errors="replace")
    if not response.body.strip():
        return None  # e.g. a 204 that still names a JSON content type
    try:
        return codec.loads(response.body)
    except codec.JSONDecodeError:
        raise StepFailed("the response is not valid JSON", code="invalid_response") from None


def _schema_validator(schema: dict[str, Any] | None) -> Any:
    if schema is None:
        return None
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(
            f"response schema is not valid: {exc.message}", code="invalid_schema"
        ) from None
    # An empty registry: jsonschema's default fetches remote ``$ref``s over the
    # network, which would let a definition make requests outside any grant.
    return cls(schema, registry=Registry())


def _check_schema(validator: Any, body: Any) -> None:
    try:
        error = best_match(validator.iter_errors(body))
    except Unresolvable as exc:
        message = f"the response schema has an unresolvable reference {exc.ref!r}"
        raise StepFailed(message, code="response_schema") from None
    if error is not None:
        # The keyword and paths only: jsonschema's own message quotes the offending value.
        schema_path = "/".join(str(p) for p in error.relative_schema_path)
        message = f"response body at {error.json_path} fails {error.validator!r} ({schema_path})"
        raise StepFailed(message, code="response_schema")
