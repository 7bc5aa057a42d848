"""API-2 on the API: every ``/api/`` request counts against its source address (before
authentication, so failed guesses count too) and, once authenticated, against its
token; over either limit the answer is ``429`` with ``Retry-After`` and the usual
error body, before any body is read. With Redis, replicas share the counts; when
Redis does not answer, requests are refused with ``503``."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from bastion.app import Services, build, create_app
from bastion.authz import Permission
from bastion.clock import FrozenClock
from bastion.settings import Settings
from tests.api.test_tokens import ROUTES, _url
from tests.fixtures.addresses import FromAddress, at
from tests.fixtures.services import OPERATOR

LIST = "/api/v1/automations"
HIGH = "100000/minute"


def services_with(settings: Settings, clock: FrozenClock, **overrides: Any) -> Services:
    return build(settings.model_copy(update=overrides), clock, migrate=False)


@pytest.fixture
def make_client(settings: Settings, clock: FrozenClock) -> Iterator[Any]:
    """``make_client(**settings)``: a started app on fresh services with those settings."""
    opened: list[tuple[TestClient, Services]] = []

    def _make(**overrides: Any) -> tuple[TestClient, Services]:
        svc = services_with(settings, clock, **overrides)
        client = TestClient(FromAddress(create_app(svc, scheduler=False)))
        client.__enter__()
        opened.append((client, svc))
        return client, svc

    yield _make
    for client, svc in reversed(opened):
        client.__exit__(None, None, None)
        svc.throttle.close()
        svc.db.dispose()


def token(services: Services) -> str:
    created: str = services.tokens.create("t", frozenset(Permission), OPERATOR, ttl=None).token
    return created


def get(client: TestClient, secret: str | None, address: str = "198.51.100.1") -> httpx.Response:
    headers = at(address)
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return client.get(LIST, headers=headers)


def assert_limited(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"code", "message", "correlation_id"}
    assert body["code"] == "rate_limited"
    assert what in body["message"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_a_token_flood_is_cut_and_other_tokens_are_not(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_token="5/minute", api_rate_limit_per_ip=HIGH)
    noisy, quiet = token(svc), token(svc)
    statuses = [get(client, noisy).status_code for _ in range(30)]
    assert statuses == [200] * 5 + [429] * 25
    assert_limited(get(client, noisy), "too many API requests with this credential")
    assert get(client, noisy, address="203.0.113.9").status_code == 429  # the token, anywhere
    assert [get(client, quiet).status_code for _ in range(5)] == [200] * 5


def test_an_address_flood_is_cut_and_other_addresses_are_not(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_ip="5/minute", api_rate_limit_per_token=HIGH)
    secret = token(svc)
    statuses = [get(client, secret, "198.51.100.7").status_code for _ in range(30)]
    assert statuses == [200] * 5 + [429] * 25
    assert_limited(get(client, secret, "198.51.100.7"), "too many API requests from this address")
    assert [get(client, secret, "198.51.100.8").status_code for _ in range(5)] == [200] * 5


def test_failed_authentication_counts_against_the_address(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_ip="5/minute", api_rate_limit_per_token=HIGH)
    guesses = [get(client, f"bst_{'0' * 16}_{n:043d}", "192.0.2.66") for n in range(30)]
    assert [r.status_code for r in guesses] == [401] * 5 + [429] * 25  # guessing stops early
    assert get(client, token(svc), "192.0.2.66").status_code == 429  # even with a real token
    assert get(client, None, "192.0.2.67").status_code == 401  # another address is not held


def test_every_api_route_is_limited_and_health_is_not(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_ip="1/minute", api_rate_limit_per_token=HIGH)
    secret = token(svc)
    for n, (method, path, _) in enumerate(ROUTES):
        headers = {**at(f"192.0.2.{n + 1}"), "Authorization": f"Bearer {secret}"}
        first = client.request(method, _url(path), headers=headers)
        assert first.status_code != 429, (method, path)
        assert_limited(client.request(method, _url(path), headers=headers), "from this address")
    assert [client.get("/healthz").status_code for _ in range(30)] == [200] * 30


def test_a_limited_request_is_refused_before_its_body_is_read(
    settings: Settings, clock: FrozenClock
) -> None:
    svc = services_with(settings, clock, api_rate_limit_per_ip="2/minute")
    app = create_app(svc, scheduler=False)
    svc.throttle.hit("2/minute", "api", "source", "192.0.2.1")
    svc.throttle.hit("2/minute", "api", "source", "192.0.2.1")
    read: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        read.append("body")
        return {"type": "http.request", "body": b'{"source": ', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": LIST, "raw_path": LIST.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json")],
        "client": ("192.0.2.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    svc.db.dispose()
    assert sent[0]["status"] == 429
    assert read == [], "the body was read before the refusal"


def test_a_limited_token_is_refused_before_its_body_is_parsed(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_token="1/minute", api_rate_limit_per_ip=HIGH)
    secret = token(svc)
    headers = {"Authorization": f"Bearer {secret}", "content-type": "application/json"}
    assert client.post(LIST, content=b'{"source": ', headers=headers).status_code == 422
    assert_limited(client.post(LIST, content=b'{"source": ', headers=headers), "credential")


def test_the_window_frees_up_as_time_passes(make_client: Any) -> None:
    client, svc = make_client(api_rate_limit_per_token="3/second", api_rate_limit_per_ip=HIGH)
    secret = token(svc)
    assert [get(client, secret).status_code for _ in range(6)] == [200] * 3 + [429] * 3
    refused = get(client, secret)
    assert refused.headers["retry-after"] == "1"
    time.sleep(1.05)
    assert [get(client, secret).status_code for _ in range(4)] == [200] * 3 + [429]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_redis_fails_closed_with_503(make_client: Any) -> None:
    client, svc = make_client(rate_limit_storage=f"redis://127.0.0.1:{_closed_port()}/0")
    secret = token(svc)
    for _ in range(3):
        response = get(client, secret)
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "rate_limit_unavailable"
        assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert client.get("/healthz").status_code == 200


@pytest.mark.redis
def test_replicas_on_one_redis_share_the_address_limit(
    make_client: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"rate_limit_storage": redis_url, "rate_limit_key_prefix": redis_prefix}
    first, svc = make_client(api_rate_limit_per_ip="6/minute", **shared)
    second, _ = make_client(api_rate_limit_per_ip="6/minute", **shared)
    secret = token(svc)
    assert [get(first, secret).status_code for _ in range(3)] == [200] * 3
    assert [get(second, secret).status_code for _ in range(3)] == [200] * 3
    assert_limited(get(first, secret), "from this address")
    assert_limited(get(second, secret), "from this address")
    assert get(second, secret, "198.51.100.99").status_code == 200


@pytest.mark.redis
def test_replicas_on_one_redis_share_the_token_limit(
    make_client: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"rate_limit_storage": redis_url, "rate_limit_key_prefix": redis_prefix}
    first, svc = make_client(api_rate_limit_per_token="4/minute", **shared)
    second, _ = make_client(api_rate_limit_per_token="4/minute", **shared)
    secret = token(svc)
    statuses = [get(c, secret).status_code for c in (first, second, first, second, first)]
    assert statuses == [200, 200, 200, 200, 429]
    assert_limited(get(second, secret), "credential")
