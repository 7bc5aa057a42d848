"""API-2 and HND-1 on webhooks: the source allow-list, the per-source and per-webhook
rate limits, the nesting depth, all checked in order before any execution exists.

Order: allow-list, rate limits, size, content type, parse, depth, schema.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bastion import codec
from bastion.app import Services, build, create_app
from bastion.automations import DefinitionInvalid
from bastion.automations.loader import load_definition
from bastion.clock import FrozenClock
from bastion.engine import ExecutionRow
from bastion.settings import Settings
from tests.fixtures.addresses import FromAddress, at
from tests.fixtures.services import OPERATOR

HIGH = "100000/minute"


def hook(name: str = "intake", *, schema: str = "{type: object}", **webhook: str) -> str:
    options = "".join(f"\n    {key}: {value}" for key, value in webhook.items())
    return f"""
name: {name}
owner: ops
trigger:
  webhook:
    respond: accepted
    schema: {schema}{options}
steps:
  - id: shape
    transform: {{value: {{seen: true}}}}
"""


@pytest.fixture
def make_client(settings: Settings, clock: FrozenClock) -> Iterator[Any]:
    """``make_client(**settings)``: a started app on fresh services with those settings
    (defaults: generous limits, so each test sets only the one it is about)."""
    opened: list[tuple[TestClient, Services]] = []

    def _make(**overrides: Any) -> tuple[TestClient, Services]:
        values = {"webhook_rate_limit": HIGH, "webhook_source_rate_limit": HIGH, **overrides}
        svc = build(settings.model_copy(update=values), clock, migrate=False)
        client = TestClient(FromAddress(create_app(svc, scheduler=False)))
        client.__enter__()
        opened.append((client, svc))
        return client, svc

    yield _make
    for client, svc in reversed(opened):
        client.__exit__(None, None, None)
        svc.throttle.close()
        svc.db.dispose()


def apply(services: Services, source: str) -> None:
    services.automations.apply(load_definition(source), OPERATOR)


def post(
    client: TestClient, body: Any = None, *, name: str = "intake", address: str = "192.0.2.10",
    content_type: str = "application/json",
) -> httpx.Response:  # fmt: skip
    data = body if isinstance(body, bytes) else codec.dumps({"n": 1} if body is None else body)
    headers = {**at(address), "content-type": content_type}
    return client.post(f"/hooks/{name}", content=data, headers=headers)


def executions(services: Services) -> int:
    with services.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(ExecutionRow)) or 0)


def refusals(services: Services) -> list[Any]:
    return [e for e in services.audit.list(limit=1000) if e.tag == "triggers:input:refused"]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return body


# -- rate limits --------------------------------------------------------------------------


def test_a_webhook_flood_is_cut_and_other_webhooks_are_not(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(rate_limit="5/minute"))
    apply(svc, hook("other", rate_limit="5/minute"))
    # From 30 addresses: the per-webhook limit holds whoever sends.
    responses = [post(client, address=f"192.0.2.{n + 1}") for n in range(30)]
    assert [r.status_code for r in responses] == [202] * 5 + [429] * 25
    body = assert_error(responses[-1], 429, "rate_limited")
    assert body["message"].startswith("too many requests to this webhook: at most 5 per minute")
    assert 1 <= int(responses[-1].headers["retry-after"]) <= 60
    assert executions(svc) == 5
    assert [post(client, name="other").status_code for _ in range(5)] == [202] * 5


def test_a_source_flood_is_cut_and_other_sources_are_not(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(source_rate_limit="3/minute"))
    noisy = [post(client, address="198.51.100.5").status_code for _ in range(30)]
    assert noisy == [202] * 3 + [429] * 27
    body = assert_error(post(client, address="198.51.100.5"), 429, "rate_limited")
    assert "from this address" in body["message"]
    assert [post(client, address="198.51.100.6").status_code for _ in range(3)] == [202] * 3
    assert executions(svc) == 6


def test_a_refused_source_does_not_spend_the_webhook_budget(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(rate_limit="5/minute", source_rate_limit="2/minute"))
    assert [post(client, address="198.51.100.5").status_code for _ in range(30)] == (
        [202] * 2 + [429] * 28
    )
    others = [post(client, address=f"198.51.100.{n}").status_code for n in (6, 7, 8, 9)]
    assert others == [202, 202, 202, 429]  # 2 + 3 = the webhook's 5


def test_the_defaults_come_from_the_settings(make_client: Any) -> None:
    client, svc = make_client(webhook_rate_limit="4/minute")
    apply(svc, hook())
    statuses = [post(client, address=f"192.0.2.{n + 1}").status_code for n in range(10)]
    assert statuses == [202] * 4 + [429] * 6
    client, svc = make_client(webhook_source_rate_limit="2/minute")
    apply(svc, hook())
    assert [post(client).status_code for _ in range(5)] == [202] * 2 + [429] * 3


def test_the_window_frees_up_as_time_passes(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(rate_limit="2/second"))
    assert [post(client).status_code for _ in range(5)] == [202] * 2 + [429] * 3
    refused = post(client)
    assert refused.headers["retry-after"] == "1"
    time.sleep(1.05)
    assert [post(client).status_code for _ in range(3)] == [202] * 2 + [429]


def test_rate_refusals_are_audited_once_not_once_per_request(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(source_rate_limit="1/minute"))
    assert [post(client).status_code for _ in range(30)] == [202] + [429] * 29
    [event] = refusals(svc)
    assert (event.outcome, event.ip) == ("denied", "192.0.2.10")
    assert '"code":"rate_limited"' in event.data


# -- the allow-list -----------------------------------------------------------------------


def test_only_allowed_addresses_get_in(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(allow_ips="['10.1.2.0/24', '2001:db8:5::/48', '192.0.2.77']"))
    for address in ("10.1.2.3", "10.1.2.254", "::ffff:10.1.2.9", "2001:db8:5:1::7", "192.0.2.77"):
        assert post(client, address=address).status_code == 202, address
    for address in ("10.1.3.1", "192.0.2.78", "2001:db8:6::1", "127.0.0.1", "testclient"):
        body = assert_error(post(client, address=address), 403, "source_not_allowed")
        assert "10.1.2" not in body["message"], "the allow-list is not revealed"
    assert executions(svc) == 5


def test_the_allow_list_with_a_real_test_client_address(
    settings: Settings, clock: FrozenClock
) -> None:
    svc = build(settings, clock, migrate=False)
    apply(svc, hook(allow_ips="['10.1.2.0/24']"))
    app = create_app(svc, scheduler=False)
    headers = {"content-type": "application/json"}
    with TestClient(app, client=("10.1.2.3", 5000)) as inside:
        assert inside.post("/hooks/intake", content=b"{}", headers=headers).status_code == 202
    with TestClient(app, client=("10.9.9.9", 5000)) as outside:
        response = outside.post("/hooks/intake", content=b"{}", headers=headers)
        assert_error(response, 403, "source_not_allowed")
    assert executions(svc) == 1
    svc.db.dispose()


def test_refused_sources_are_audited_once_per_source(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook(allow_ips="['10.1.2.0/24']"))
    for _ in range(30):
        assert post(client, address="203.0.113.5").status_code == 403
    assert post(client, address="203.0.113.6").status_code == 403
    events = refusals(svc)
    assert sorted(e.ip for e in events) == ["203.0.113.5", "203.0.113.6"]
    assert all('"code":"source_not_allowed"' in e.data for e in events)


# -- depth ----------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_deep_json_is_refused_before_the_schema(make_client: Any) -> None:
    client, svc = make_client(webhook_max_depth=8)
    apply(svc, hook(schema="{type: object, required: [never]}"))
    body = assert_error(post(client, nested(9)), 422, "json_too_deep")
    assert "more than 8 levels" in body["message"]
    deep_array = b"[" * 9 + b"]" * 9
    assert_error(post(client, {"x": codec.loads(deep_array)}), 422, "json_too_deep")
    # At the limit the body goes on to the schema, which is what refuses it here.
    assert_error(post(client, nested(8)), 422, "invalid_input")
    assert executions(svc) == 0
    codes = sorted(codec.loads(e.data)["code"] for e in refusals(svc))
    assert codes == ["invalid_input", "json_too_deep", "json_too_deep"]  # audited as input


def test_the_default_depth_limit_is_32(make_client: Any) -> None:
    client, svc = make_client()
    apply(svc, hook())
    assert post(client, nested(32)).status_code == 202
    assert_error(post(client, nested(33)), 422, "json_too_deep")
    assert_error(post(client, [nested(32)]), 422, "json_too_deep")
    assert executions(svc) == 1


# -- the order of the checks ----------------------------------------------------------------


def test_the_allow_list_comes_before_everything_else(make_client: Any) -> None:
    client, svc = make_client(webhook_max_body_bytes=1024)
    apply(svc, hook(allow_ips="['10.1.2.0/24']", rate_limit="1/minute"))
    outside = "203.0.113.5"
    assert_error(post(client, b"x" * 4096, address=outside), 403, "source_not_allowed")
    assert_error(post(client, b"{", address=outside), 403, "source_not_allowed")
    assert_error(
        post(client, content_type="text/plain", address=outside), 403, "source_not_allowed"
    )
    assert post(client, address="10.1.2.3").status_code == 202  # the refusals spent nothing


def test_rate_limits_come_before_the_body(make_client: Any) -> None:
    client, svc = make_client(webhook_max_body_bytes=1024)
    apply(svc, hook(rate_limit="1/minute", schema="{type: object, required: [id]}"))
    assert_error(post(client), 422, "invalid_input")  # spends the one request
    for body, content_type in (
        (b"x" * 4096, "application/json"),  # too large
        (b"{}", "text/plain"),  # wrong type
        (b"{", "application/json"),  # malformed
        (codec.dumps(nested(40)), "application/json"),  # too deep
        (b"{}", "application/json"),  # fails the schema
    ):
        assert_error(post(client, body, content_type=content_type), 429, "rate_limited")
    # Only the first request reached the body checks, so only it was audited as input.
    codes = [e.data for e in refusals(svc)]
    assert sum('"code":"invalid_input"' in d for d in codes) == 1
    assert executions(svc) == 0


def test_size_then_type_then_parse_then_depth_then_schema(make_client: Any) -> None:
    client, svc = make_client(webhook_max_body_bytes=1024, webhook_max_depth=4)
    apply(svc, hook(schema="{type: object, required: [id]}"))
    big = b"{" + b" " * 2048 + b"}"
    assert_error(post(client, big, content_type="text/plain"), 413, "body_too_large")
    assert_error(post(client, b"{", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(post(client, b'{"a": [[[[[[{'), 400, "invalid_json")
    assert_error(post(client, nested(5)), 422, "json_too_deep")
    assert_error(post(client, nested(4)), 422, "invalid_input")
    assert executions(svc) == 0


# -- the definition -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "pointer", "message"),
    [
        ({"rate_limit": "fast"}, "/trigger/webhook/rate_limit", "is not one rate limit"),
        ({"rate_limit": "0/second"}, "/trigger/webhook/rate_limit", "give 1 to"),
        ({"source_rate_limit": "5/sec"}, "/trigger/webhook/source_rate_limit", "not one rate"),
        ({"allow_ips": "['10.0.0.0/8', '10.1.2.3/8']"}, "/trigger/webhook/allow_ips/1", "host"),
        ({"allow_ips": "[nowhere]"}, "/trigger/webhook/allow_ips/0", "not an IP address"),
        ({"allow_ips": "[]"}, "/trigger/webhook/allow_ips", "at least 1 item"),
    ],
)
def test_bad_limits_and_networks_are_refused_at_apply(
    options: dict[str, str], pointer: str, message: str
) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(hook(**options))
    [problem] = caught.value.problems
    assert problem.pointer == pointer
    assert message in problem.message


def test_good_limits_and_networks_are_kept(services: Services) -> None:
    apply(services, hook(rate_limit="'10 per 5 seconds'", allow_ips="['2001:db8::/32']"))
    webhook = services.automations.current("intake").definition.trigger.webhook
    assert webhook is not None
    assert (webhook.rate_limit, webhook.allow_ips) == ("10 per 5 seconds", ["2001:db8::/32"])


# -- Redis: shared by replicas, fail closed -------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_redis_fails_closed_with_503(make_client: Any) -> None:
    client, svc = make_client(rate_limit_storage=f"redis://127.0.0.1:{_closed_port()}/0")
    apply(svc, hook())
    for _ in range(3):
        body = assert_error(post(client), 503, "rate_limit_unavailable")
        assert "127.0.0.1" not in body["message"]
    assert executions(svc) == 0


@pytest.mark.redis
def test_replicas_on_one_redis_share_a_webhook_limit(
    make_client: Any, redis_url: str, redis_prefix: str
) -> None:
    shared = {"rate_limit_storage": redis_url, "rate_limit_key_prefix": redis_prefix}
    first, svc = make_client(**shared)
    apply(svc, hook(rate_limit="4/minute", source_rate_limit="3/minute"))
    second, _ = make_client(**shared)  # another process on the same database and Redis
    by_source = [post(c, address="192.0.2.1").status_code for c in (first, second, first, second)]
    assert by_source == [202, 202, 202, 429]  # the source's 3, across both replicas
    assert post(second, address="192.0.2.2").status_code == 202  # the webhook's 4th
    assert_error(post(first, address="192.0.2.3"), 429, "rate_limited")
    assert_error(post(second, address="192.0.2.4"), 429, "rate_limited")
    assert executions(svc) == 4
