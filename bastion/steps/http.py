"""The ``http`` step: one outbound request whose answer is checked before it is trusted.

The work is split so the planned hardening (SSRF guards, vault credentials)
slots in without reshaping the step: ``_build`` turns the compiled templates
into a request, ``_send`` performs it under a body-size cap, and ``_validate``
decides whether the answer is acceptable and what the step outputs.

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
from bastion.automations.definition import HttpOptions
from bastion.automations.expressions import Template, is_reference
from bastion.errors import Invalid
from bastion.steps.base import Needs, StepContext, StepFailed, StepResult

MAX_BODY = 10 * 1024 * 1024
SAFE_HEADERS = ("content-type", "content-length", "etag", "location")
_SCHEMES = frozenset({"http", "https"})
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


@dataclass(frozen=True)
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes
    encoding: str


class HttpStep:
    """Sends one request with ``ctx.http``; outputs ``{"status", "headers", "body"}``.

    Raises StepFailed: ``invalid_url``, ``invalid_request``, ``timeout`` and
    ``connection_failed`` (retryable), ``response_too_large``,
    ``unexpected_status`` (retryable for 5xx and 429), ``invalid_response``,
    ``response_schema``. The constructor raises Invalid for a bad header name or
    response schema, and ExpressionError for a bad reference.
    """

    def __init__(self, options: HttpOptions) -> None:
        self.method = options.method
        self.statuses = frozenset(options.response.status)
        self._url = Template(options.url)
        self._headers = Template(_checked_header_names(options.headers))
        self._query = Template(options.query)
        self._json = None if options.json_ is None else Template(options.json_)
        self._schema = _schema_validator(options.response.schema_)
        self.needs = Needs(egress=_literal_host(options.url), effects=options.method != "GET")

    async def run(self, ctx: StepContext) -> StepResult:
        request = self._build(ctx)
        started = ctx.clock.monotonic()
        response = await _send(ctx.http, request)
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

    def _validate(self, response: _Response) -> dict[str, Any]:
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


async def _send(client: httpx.AsyncClient, request: _Request) -> _Response:
    """Send without following redirects and read at most MAX_BODY bytes (decoded)."""
    where = f"{request.method} {request.url.host}"
    # ``from None`` throughout: httpx errors carry the request, and so its full URL.
    try:
        async with client.stream(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            follow_redirects=False,
        ) as response:
            body = await _read_capped(response)
            return _Response(
                response.status_code, response.headers, body, response.encoding or "utf-8"
            )
    except httpx.TimeoutException as exc:
        message = f"{where} timed out ({type(exc).__name__})"
        raise StepFailed(message, code="timeout", retryable=True) from None
    except httpx.TransportError as exc:
        message = f"{where} failed ({type(exc).__name__})"
        raise StepFailed(message, code="connection_failed", retryable=True) from None
    except httpx.DecodingError:
        message = f"{where}: the response body could not be decoded"
        raise StepFailed(message, code="invalid_response") from None


async def _read_capped(response: httpx.Response) -> bytes:
    too_large = StepFailed(f"response body exceeds {MAX_BODY} bytes", code="response_too_large")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    # Counted after decompression, so a small gzip body cannot expand past the cap.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _absolute_url(value: Any) -> httpx.URL:
    problem = "the URL must be an absolute http:// or https:// URL"
    if not isinstance(value, str):
        raise StepFailed(f"{problem}, not {type(value).__name__}", code="invalid_url")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise StepFailed(problem, code="invalid_url") from None
    if url.scheme not in _SCHEMES or not url.host:
        raise StepFailed(problem, code="invalid_url")
    return url


def _literal_host(url: str) -> frozenset[str]:
    """The egress host a literal URL declares; a reference declares none until rendered."""
    if is_reference(url):
        return frozenset()
    try:
        return frozenset({_absolute_url(Template(url).render({})).host})
    except StepFailed:
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


def _parse_body(response: _Response) -> Any:
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
