"""The http step authenticates with a leased vault credential, only through a grant,
and the secret it sends never appears in what the execution stores."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bastion import codec
from bastion.app import Services, running
from bastion.engine import State
from tests.fixtures.services import OPERATOR

SECRET = "sk_live_Qw7-Er4/Ty8+Ui1=Op0"

FLOW = """
name: pay
owner: ops
trigger: {{manual: {{}}}}
steps:
  - id: call
    http:
      method: GET
      url: "{url}"
      credential: cred:bank-api
"""


def run(services: Services) -> Any:
    async def go() -> Any:
        async with running(services, scheduler=False):
            started = await services.manual.run("pay", None, OPERATOR)
            return await services.engine.wait(started, 10)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("kind", "secret", "where"),
    [
        ("bearer", {"token": SECRET}, ("header", "Authorization", f"Bearer {SECRET}")),
        (
            "basic",
            {"username": "svc", "password": SECRET},
            (
                "header",
                "Authorization",
                "Basic " + base64.b64encode(f"svc:{SECRET}".encode()).decode(),
            ),
        ),
        ("api_key", {"value": SECRET, "header": "X-Api-Key"}, ("header", "X-Api-Key", SECRET)),
        ("api_key", {"value": SECRET, "query": "key"}, ("query", "key", SECRET)),
    ],
)
def test_the_credential_is_sent_where_its_kind_says_and_masked_in_storage(
    services: Services, apply: Any, upstream: HTTPServer, kind: str, secret: dict[str, str],
    where: tuple[str, str, str],
) -> None:  # fmt: skip
    seen: list[Any] = []
    upstream.expect_request("/pay").respond_with_handler(
        lambda request: seen.append(request) or _ok()
    )
    apply(FLOW.format(url=upstream.url_for("/pay")))
    services.vault.create("bank-api", kind, secret, OPERATOR)
    services.vault.grant("bank-api", "pay", OPERATOR)

    finished = run(services)
    assert finished.state == State.succeeded, finished.error_message
    [request] = seen
    place, name, value = where
    got = request.headers.get(name) if place == "header" else request.args.get(name)
    assert got == value
    stored = codec.dumps_str(services.engine.get(finished.id).steps)
    assert SECRET not in stored


def test_without_a_grant_nothing_is_sent(
    services: Services, apply: Any, upstream: HTTPServer
) -> None:
    upstream.expect_request("/pay").respond_with_json({"ok": True})
    apply(FLOW.format(url=upstream.url_for("/pay")))
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)

    finished = run(services)
    assert (finished.state, finished.error_code) == (State.failed, "credential_not_granted")
    assert upstream.log == []


def _ok() -> Any:
    from werkzeug import Response

    return Response('{"ok": true}', content_type="application/json")
