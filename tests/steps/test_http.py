import asyncio
import gzip
import socket
import time
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bastion.automations.definition import HttpOptions
from bastion.clock import FrozenClock
from bastion.egress import AllowList, OutboundClient
from bastion.errors import Invalid
from bastion.settings import Settings
from bastion.steps import Needs, StepContext, StepFailed, StepResult
from bastion.steps.http import MAX_BODY, HttpStep

DATA: dict[str, Any] = {
    "trigger": {"body": {"order": 17, "email": "ada@example.com", "token": "tok-123"}},
    "steps": {},
    "execution": {"id": "exec-1"},
}


def make(allowed: AllowList | None = None, **options: Any) -> HttpStep:
    return HttpStep(HttpOptions.model_validate(options), allowed)


def client(timeout: float) -> OutboundClient:
    # pytest-httpserver listens on "localhost" over plain HTTP: allowed here as an
    # administrator would allow an internal host (the guard itself: tests/egress).
    local = ["localhost", "127.0.0.1"]
    return OutboundClient(
        Settings(
            step_timeout_seconds=timeout,
            egress_allow_internal=local,
            egress_plain_http_hosts=local,
        )
    )


def run(
    step: HttpStep,
    data: dict[str, Any] = DATA,
    timeout: float = 5.0,
    follow_redirects: bool = False,
) -> StepResult:
    async def go() -> StepResult:
        async with client(timeout) as http:
            http.follow_redirects = follow_redirects
            ctx = StepContext("exec-1", "call", 1, data, FrozenClock(), http, lambda *a: None)
            return await step.run(ctx)

    return asyncio.run(go())


def fail(
    step: HttpStep, data: dict[str, Any] = DATA, timeout: float = 5.0, **options: Any
) -> StepFailed:
    with pytest.raises(StepFailed) as info:
        run(step, data, timeout, **options)
    return info.value


def test_get_json(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items", method="GET").respond_with_data(
        '{"items": [{"id": 1}]}',
        content_type="application/json",
        headers={"ETag": '"v1"', "X-Internal": "hidden"},
    )
    step = make(url=httpserver.url_for("/items"))
    result = run(step)
    assert result.output == {
        "status": 200,
        "headers": {"content-type": "application/json", "content-length": "22", "etag": '"v1"'},
        "body": {"items": [{"id": 1}]},
    }
    assert result.meta["status"] == 200
    assert step.needs == Needs(egress=frozenset({"localhost"}), effects=False)
    request, _ = httpserver.log[0]
    assert "Idempotency-Key" not in request.headers


def test_post_sends_rendered_json_and_idempotency_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/orders",
        method="POST",
        json={"order": 17, "contact": {"email": "ada@example.com"}, "note": "$literal"},
        headers={"Idempotency-Key": "exec-1:call", "Content-Type": "application/json"},
    ).respond_with_json({"created": True}, status=201)
    step = make(
        url=httpserver.url_for("/orders"),
        method="POST",
        json={
            "order": "$.trigger.body.order",
            "contact": {"email": "$.trigger.body.email"},
            "note": "$$literal",
        },
    )
    result = run(step)
    assert result.output["status"] == 201
    assert result.output["body"] == {"created": True}
    assert step.needs.effects is True
    assert len(httpserver.log) == 1


def test_engine_idempotency_key_wins_over_the_definition(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x", method="DELETE").respond_with_data(
        "", status=204, content_type="application/json"
    )
    step = make(url=httpserver.url_for("/x"), method="DELETE", headers={"idempotency-key": "mine"})
    assert run(step).output == {
        "status": 204,
        "headers": {"content-type": "application/json"},
        "body": None,
    }
    request, _ = httpserver.log[0]
    assert request.headers.getlist("Idempotency-Key") == ["exec-1:call"]


def test_headers_and_query_are_rendered_and_merged(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_json([])
    step = make(
        url=httpserver.url_for("/search") + "?fixed=1",
        headers={
            "Authorization": "$.trigger.body.token",
            "X-Order": "$.trigger.body.order",
            "X-None": None,
        },
        query={"q": "$.trigger.body.email", "ids": [1, 2], "flag": True, "skip": None},
    )
    assert run(step).output["body"] == []
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "tok-123"
    assert request.headers["X-Order"] == "17"
    assert "X-None" not in request.headers
    assert request.args.to_dict(flat=False) == {
        "fixed": ["1"],
        "q": ["ada@example.com"],
        "ids": ["1", "2"],
        "flag": ["true"],
    }


def test_url_reference_is_rendered(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="PUT").respond_with_data(
        "ok", content_type="text/plain"
    )
    allowed = AllowList.build([f"localhost:{httpserver.port}"])
    step = make(allowed, url="$.trigger.body.endpoint", method="PUT")
    data = {**DATA, "trigger": {"body": {"endpoint": httpserver.url_for("/hook")}}}
    result = run(step, data)
    assert result.output["body"] == "ok"
    assert step.needs == Needs(egress=frozenset(), effects=True)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "/relative", "http:///nohost", "file:///etc/passwd", 5, None]
)
def test_non_http_url_is_refused(url: Any) -> None:
    step = make(url="$.trigger.body.endpoint")
    error = fail(step, {**DATA, "trigger": {"body": {"endpoint": url}}})
    assert error.code == "invalid_url"
    assert error.retryable is False
    assert "passwd" not in error.message


def test_literal_non_http_url_declares_no_egress_and_is_refused() -> None:
    step = make(url="ftp://example.com/x")
    assert step.needs.egress == frozenset()
    assert fail(step).code == "invalid_url"


def test_4xx_is_not_retryable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json({"error": "nope"}, status=404)
    error = fail(make(url=httpserver.url_for("/x")))
    assert (error.code, error.retryable) == ("unexpected_status", False)
    assert "404" in error.message


@pytest.mark.parametrize("status", [503, 429])
def test_5xx_and_429_are_retryable(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/x").respond_with_data("busy", status=status)
    error = fail(make(url=httpserver.url_for("/x")))
    assert (error.code, error.retryable) == ("unexpected_status", True)
    assert str(status) in error.message


def test_status_list_is_honoured(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json({"missing": True}, status=404)
    step = make(url=httpserver.url_for("/x"), response={"status": [404]})
    assert run(step).output["body"] == {"missing": True}
    assert (
        fail(make(url=httpserver.url_for("/x"), response={"status": [200]})).code
        == "unexpected_status"
    )


def test_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=302, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("followed")
    # The engine's client may follow redirects by default; the step must not.
    error = fail(make(url=httpserver.url_for("/old")), follow_redirects=True)
    assert (error.code, error.retryable) == ("unexpected_status", False)
    step = make(url=httpserver.url_for("/old"), response={"status": [302]})
    result = run(step, follow_redirects=True)
    assert result.output["status"] == 302
    assert result.output["headers"]["location"] == "/new"
    assert [r.path for r, _ in httpserver.log] == ["/old", "/old"]


SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "integer"}}},
        }
    },
}


def test_response_schema_failure_names_the_path_not_the_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json(
        {"items": [{"id": 1}, {"id": "secret-value-991"}]}
    )
    error = fail(make(url=httpserver.url_for("/x"), response={"schema": SCHEMA}))
    assert error.code == "response_schema"
    assert "$.items[1].id" in error.message
    assert "type" in error.message
    assert "secret-value-991" not in error.message


def test_response_schema_pass(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json({"items": [{"id": 1}]})
    result = run(make(url=httpserver.url_for("/x"), response={"schema": SCHEMA}))
    assert result.output["body"] == {"items": [{"id": 1}]}


def test_response_schema_never_fetches_remote_refs(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/schema.json").respond_with_json({"type": "object"})
    httpserver.expect_request("/x").respond_with_json({"a": 1})
    schema = {"$ref": httpserver.url_for("/schema.json")}
    error = fail(make(url=httpserver.url_for("/x"), response={"schema": schema}))
    assert error.code == "response_schema"
    assert [r.path for r, _ in httpserver.log] == ["/x"]


def test_invalid_response_schema_fails_at_build() -> None:
    with pytest.raises(Invalid) as info:
        make(url="https://example.com", response={"schema": {"type": "nonsense"}})
    assert info.value.code == "invalid_schema"


def test_oversized_body_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * (MAX_BODY + 1))
    error = fail(make(url=httpserver.url_for("/big")))
    assert (error.code, error.retryable) == ("response_too_large", False)


def test_oversized_body_without_length_is_refused_while_streaming(httpserver: HTTPServer) -> None:
    def chunks() -> Any:
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    httpserver.expect_request("/big").respond_with_response(Response(chunks()))
    error = fail(make(url=httpserver.url_for("/big")))
    assert error.code == "response_too_large"
    assert httpserver.log[0][1].headers.get("Content-Length") is None


def test_declared_oversized_length_is_refused_before_reading(httpserver: HTTPServer) -> None:
    # Only one byte follows: reading on would end in a broken-connection error instead.
    response = Response(iter([b"x"]), headers={"Content-Length": str(MAX_BODY + 1)})
    httpserver.expect_request("/big").respond_with_response(response)
    error = fail(make(url=httpserver.url_for("/big")))
    assert error.code == "response_too_large"


def test_decompressed_size_is_capped(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"0" * (MAX_BODY + 1))
    assert len(bomb) < 100_000
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    error = fail(make(url=httpserver.url_for("/bomb")))
    assert error.code == "response_too_large"


def test_undecodable_body_is_an_invalid_response(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(
        b"not gzip at all", content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    error = fail(make(url=httpserver.url_for("/x")))
    assert (error.code, error.retryable) == ("invalid_response", False)


def test_body_at_the_limit_is_accepted(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * MAX_BODY, content_type="text/plain")
    assert len(run(make(url=httpserver.url_for("/big"))).output["body"]) == MAX_BODY


def test_invalid_json_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(
        '{"a": tok-123', content_type="application/json"
    )
    error = fail(make(url=httpserver.url_for("/x")))
    assert (error.code, error.retryable) == ("invalid_response", False)
    assert "tok-123" not in error.message


def test_json_suffix_types_are_parsed_and_text_is_decoded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/problem").respond_with_data(
        '{"title": "bad"}', status=200, content_type="application/problem+json"
    )
    httpserver.expect_request("/text").respond_with_data(
        "héllo".encode("latin-1"), content_type="text/plain; charset=latin-1"
    )
    assert run(make(url=httpserver.url_for("/problem"))).output["body"] == {"title": "bad"}
    assert run(make(url=httpserver.url_for("/text"))).output["body"] == "héllo"


def test_timeout_is_retryable_and_hides_the_query(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    step = make(url=httpserver.url_for("/slow") + "?api_key=s3cr3t")
    error = fail(step, timeout=0.1)
    assert (error.code, error.retryable) == ("timeout", True)
    assert "s3cr3t" not in error.message
    assert "GET localhost" in error.message
    assert error.__suppress_context__ is True


def test_connection_failure_is_retryable_and_hides_the_query() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fail(make(url=f"http://127.0.0.1:{port}/x?api_key=s3cr3t"))
    assert (error.code, error.retryable) == ("connection_failed", True)
    assert "s3cr3t" not in error.message


def test_header_injection_is_refused(httpserver: HTTPServer) -> None:
    step = make(url=httpserver.url_for("/x"), headers={"X-Note": "$.trigger.body.note"})
    error = fail(step, {**DATA, "trigger": {"body": {"note": "a\r\nX-Admin: 1"}}})
    assert error.code == "invalid_request"
    assert httpserver.log == []


def test_structured_header_values_are_refused(httpserver: HTTPServer) -> None:
    step = make(url=httpserver.url_for("/x"), headers={"X-Note": "$.trigger.body"})
    error = fail(step)
    assert error.code == "invalid_request"
    assert "X-Note" in error.message


@pytest.mark.parametrize("name", ["Host", "content-length", "Transfer-Encoding", "bad name"])
def test_reserved_or_invalid_header_names_fail_at_build(name: str) -> None:
    with pytest.raises(Invalid) as info:
        make(url="https://example.com", headers={name: "x"})
    assert info.value.code == "invalid_header"


def test_only_the_egress_client_may_send(httpserver: HTTPServer) -> None:
    # Fail closed: handed a plain httpx client, the step would skip every egress check.
    step = make(url=httpserver.url_for("/x"))

    async def go() -> None:
        async with httpx.AsyncClient() as plain:
            ctx = StepContext("exec-1", "call", 1, DATA, FrozenClock(), plain, lambda *a: None)
            await step.run(ctx)

    with pytest.raises(TypeError):
        asyncio.run(go())
    assert httpserver.log == []


def test_egress_refusals_fail_the_step_with_their_reason(httpserver: HTTPServer) -> None:
    step = make(url="$.trigger.body.endpoint")
    data = {**DATA, "trigger": {"body": {"endpoint": httpserver.url_for("/x")}}}
    error = fail(step, data)  # a step on its own may reach only its own literal host
    assert (error.code, error.retryable) == ("not_allowed_host", False)
    elsewhere = httpserver.url_for("/x").replace("localhost", "127.0.0.2")
    error = fail(make(url=elsewhere))  # allowed by the step, not by the administrator
    assert (error.code, error.retryable) == ("plain_http", False)
    error = fail(make(url=elsewhere.replace("http:", "https:")))
    assert (error.code, error.retryable) == ("loopback_address", False)
    assert httpserver.log == []
