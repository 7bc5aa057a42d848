"""HND-1: webhook bodies are validated before any execution exists; refusals are audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bastion import codec
from bastion.app import Services, create_app
from bastion.audit import AuditEventRow
from bastion.engine import ExecutionRow

HOOK = """
name: intake
owner: ops
trigger:
  webhook:
    respond: {respond}
    schema:
      type: object
      required: [id, total]
      properties: {{id: {{type: string}}, total: {{type: number, minimum: 0}}}}
steps:
  - id: shape
    transform: {{value: {{order: $.trigger.body.id, processed: true}}}}
output: $.steps.shape
"""


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services, scheduler=False)) as c:
        yield c


def executions(services: Services) -> int:
    with services.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(ExecutionRow)) or 0)


def events(services: Services, tag: str) -> list[AuditEventRow]:
    return [e for e in services.audit.list(limit=1000) if e.tag == tag]


def post(client: TestClient, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else codec.dumps(body)
    return client.post(
        "/hooks/intake", content=data, headers={"content-type": "application/json", **headers}
    )


def test_respond_result_answers_with_the_output(
    services: Services, apply: Any, client: TestClient
) -> None:
    apply(HOOK.format(respond="result"))
    r = post(client, {"id": "A-1", "total": 3})
    assert r.status_code == 200
    assert r.json() == {"order": "A-1", "processed": True}
    assert r.headers["x-correlation-id"]
    assert executions(services) == 1


def test_respond_accepted_gives_202_and_the_execution_id(
    services: Services, apply: Any, client: TestClient
) -> None:
    apply(HOOK.format(respond="accepted"))
    r = post(client, {"id": "A-2", "total": 3})
    assert r.status_code == 202
    execution_id = r.json()["execution_id"]
    with services.db.reader() as s:
        assert s.get(ExecutionRow, execution_id) is not None


def test_invalid_body_is_refused_with_every_error_and_nothing_runs(
    services: Services, apply: Any, client: TestClient
) -> None:
    apply(HOOK.format(respond="result"))
    r = post(client, {"id": 7, "total": -1})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input"
    assert body["correlation_id"] == r.headers["x-correlation-id"]
    assert {d["pointer"] for d in body["details"]} == {"/id", "/total"}
    assert executions(services) == 0
    refused = events(services, "triggers:input:refused")
    assert len(refused) == 1
    assert refused[0].correlation_id == body["correlation_id"]
    assert refused[0].outcome == "denied"


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "invalid_json"),
        (b'{"id": "a", "total": 1}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid_json"),
    ],
)
def test_malformed_requests_are_refused(
    services: Services,
    apply: Any,
    client: TestClient,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    apply(HOOK.format(respond="result"))
    r = post(client, content, **headers)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert executions(services) == 0


def test_oversized_body_is_refused_before_parsing(
    services: Services, apply: Any, client: TestClient
) -> None:
    apply(HOOK.format(respond="result"))
    big = codec.dumps({"id": "x" * (services.settings.webhook_max_body_bytes + 1), "total": 1})
    r = post(client, big)
    assert (r.status_code, r.json()["code"]) == (413, "body_too_large")
    assert executions(services) == 0


def test_unknown_and_disabled_automations(
    services: Services, apply: Any, client: TestClient
) -> None:
    assert client.post("/hooks/nope", json={}).status_code == 404
    apply(HOOK.format(respond="result"))
    from tests.fixtures.services import OPERATOR

    services.automations.set_enabled("intake", False, OPERATOR)
    r = post(client, {"id": "A", "total": 1})
    assert (r.status_code, r.json()["code"]) == (409, "automation_disabled")
    assert executions(services) == 0


def test_a_failed_execution_is_reported_without_internals(
    services: Services, apply: Any, client: TestClient
) -> None:
    apply(
        HOOK.format(respond="result").replace(
            "    transform: {value: {order: $.trigger.body.id, processed: true}}",
            "    http: {url: 'https://127.0.0.1:1/nothing-listens-here'}\n    timeout: 2s",
        )
    )
    r = post(client, {"id": "A", "total": 1})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "execution_failed"
    assert body["execution_id"]
    assert "Traceback" not in r.text and "/work" not in r.text and "nothing-listens" not in r.text
