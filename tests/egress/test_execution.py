"""NET-1 / SA-2 through a whole execution: an automation reaches only the hosts its
definition names (its literal URLs and ``egress.hosts``), whatever its input says."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bastion.app import Services, running
from bastion.engine import State
from tests.fixtures.services import OPERATOR

FLOW = """
name: forward
owner: ops
{egress}
trigger: {{manual: {{}}}}
steps:
  - id: ping
    http: {{url: "{listed}"}}
  - id: forward
    http: {{method: POST, url: $.trigger.body.callback, json: {{ok: true}}}}
"""


@pytest.fixture
def unlisted() -> Iterator[HTTPServer]:
    """A second server the definition never names, on the same (allowed) address."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def run(services: Services, payload: Any) -> Any:
    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("forward", payload, OPERATOR)
            return await services.engine.wait(run, 10)

    return asyncio.run(go())


def serve(upstream: HTTPServer, unlisted: HTTPServer) -> None:
    upstream.expect_request("/ping").respond_with_json({"pong": True})
    upstream.expect_request("/hook", method="POST").respond_with_json({"got": True})
    unlisted.expect_request("/hook", method="POST").respond_with_json({"got": True})


def test_a_reference_url_to_an_unlisted_host_fails_the_step_before_any_request(
    services: Services, apply: Any, upstream: HTTPServer, unlisted: HTTPServer
) -> None:
    serve(upstream, unlisted)
    apply(FLOW.format(egress="", listed=upstream.url_for("/ping")))
    result = run(services, {"callback": unlisted.url_for("/hook?token=s3cr3t")})
    assert (result.state, result.error_code) == (State.failed, "not_allowed_host")
    assert unlisted.log == [], "no request reached the unlisted server"
    view = services.engine.get(result.id)
    failed = view.steps[-1]
    assert (failed["step_id"], failed["error_code"]) == ("forward", "not_allowed_host")
    assert "s3cr3t" not in failed["error"] and "/hook" not in failed["error"]


def test_a_reference_url_may_reach_a_literal_urls_host(
    services: Services, apply: Any, upstream: HTTPServer, unlisted: HTTPServer
) -> None:
    serve(upstream, unlisted)
    apply(FLOW.format(egress="", listed=upstream.url_for("/ping")))
    result = run(services, {"callback": upstream.url_for("/hook")})
    assert result.state == State.succeeded, result.error_code
    assert [r.path for r, _ in upstream.log] == ["/ping", "/hook"]


def test_egress_hosts_extend_the_list(
    services: Services, apply: Any, upstream: HTTPServer, unlisted: HTTPServer
) -> None:
    serve(upstream, unlisted)
    egress = f'egress: {{hosts: ["127.0.0.1:{unlisted.port}"]}}'
    apply(FLOW.format(egress=egress, listed=upstream.url_for("/ping")))
    result = run(services, {"callback": unlisted.url_for("/hook")})
    assert result.state == State.succeeded, result.error_code
    assert [r.path for r, _ in unlisted.log] == ["/hook"]


def test_the_engine_refuses_what_the_administrator_did_not_allow(
    services: Services, apply: Any, upstream: HTTPServer, unlisted: HTTPServer
) -> None:
    # The shared test settings allow 127.0.0.1 (plain HTTP included) and nothing else:
    # listing 127.0.0.2 in the definition does not make it reachable.
    serve(upstream, unlisted)
    egress = f'egress: {{hosts: ["127.0.0.2:{unlisted.port}"]}}'
    apply(FLOW.format(egress=egress, listed=upstream.url_for("/ping")))
    callback = unlisted.url_for("/hook").replace("127.0.0.1", "127.0.0.2")
    result = run(services, {"callback": callback})
    assert (result.state, result.error_code) == (State.failed, "plain_http")
    result = run(services, {"callback": callback.replace("http://", "https://")})
    assert (result.state, result.error_code) == (State.failed, "loopback_address")
    assert unlisted.log == []
