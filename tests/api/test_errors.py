"""HND-3: every error a caller sees is ``{code, message, correlation_id}`` (plus
safe ``details``) and nothing else: no stack trace, SQL, path or secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # what starlette.testclient returns when installed
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bastion.app import Services, create_app
from bastion.authz import Permission
from tests.fixtures.services import OPERATOR

CID = re.compile(r"^[0-9a-f]{16}$")
INTERNALS = (
    "Traceback", "File \"", ".py", "/work", "site-packages", "sqlalchemy", "sqlite", "psycopg",
    "SELECT", "FROM", "automations_gone", "no such table", "does not exist", "OperationalError",
    "ProgrammingError",
)  # fmt: skip

VALID = """\
name: nightly
owner: ops
trigger:
  manual: {}
steps:
  - id: note
    log: {message: hello}
"""

SHAPE_PROBLEMS = """\
name: Bad Name!
owner: ops
colour: blue
trigger:
  manual: {}
steps:
  - id: first
    log: {message: hi, level: loud}
  - id: second
    wait: {}
"""

DOCUMENT_PROBLEMS = """\
name: nightly
owner: ops
trigger:
  manual: {}
steps:
  - id: first
    log: {message: hi}
  - id: first
    log: {message: again}
  - id: jump
    condition: {if: $.steps.first.x, then: nowhere, else: end}
"""


@pytest.fixture
def token(services: Services) -> str:
    return services.tokens.create("t", frozenset(Permission), OPERATOR, ttl=None).token


@pytest.fixture
def client(services: Services, token: str) -> Iterator[TestClient]:
    app = create_app(services, scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.fixture
def table_gone(services: Services, client: TestClient) -> Iterator[None]:
    """The table the automation list reads disappears underneath the running app."""
    _sql(services, "ALTER TABLE automations RENAME TO automations_gone")
    yield
    _sql(services, "ALTER TABLE automations_gone RENAME TO automations")


def _sql(services: Services, statement: str) -> None:
    with services.db.transaction() as session:
        session.execute(text(statement))


def _error(
    response: httpx.Response, status: int, code: str, cid: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["correlation_id"] == cid if cid else CID.match(body["correlation_id"])
    assert response.headers["x-correlation-id"] == body["correlation_id"]
    assert set(body) <= {"code", "message", "correlation_id", "details"}
    return body


def test_an_unexpected_error_is_a_bare_500_with_a_correlation_id(
    client: TestClient, table_gone: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/automations")
    body = _error(response, 500, "internal_error")
    assert body == {
        "code": "internal_error",
        "message": "something went wrong on our side",
        "correlation_id": body["correlation_id"],
    }
    for leak in INTERNALS:
        assert leak not in response.text, f"{leak!r} leaked into the response"
    assert response.headers["x-content-type-options"] == "nosniff"
    # The details go to the log, under the same correlation id.
    [record] = [r for r in caplog.records if body["correlation_id"] in r.getMessage()]
    assert record.exc_info is not None


def test_each_500_gets_its_own_correlation_id(client: TestClient, table_gone: None) -> None:
    first = client.get("/api/v1/automations").json()["correlation_id"]
    second = client.get("/api/v1/automations").json()["correlation_id"]
    assert first != second
    mine = client.get("/api/v1/automations", headers={"X-Correlation-Id": "trace-0001-abcd"})
    _error(mine, 500, "internal_error", cid="trace-0001-abcd")


def test_invalid_json_is_refused_with_details(client: TestClient) -> None:
    response = client.post(
        "/api/v1/automations",
        content=b'{"source": "name: x", ',
        headers={"content-type": "application/json"},
    )
    body = _error(response, 422, "invalid_request")
    assert body["message"] == "the request is not valid"
    assert [d["message"] for d in body["details"]] == ["JSON decode error"]
    assert client.get("/api/v1/automations").json() == []


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        ({}, [{"pointer": "/source", "message": "Field required"}]),
        ({"source": 5}, [{"pointer": "/source", "message": "Input should be a valid string"}]),
        (
            {"source": VALID, "filename": "f" * 201},
            [{"pointer": "/filename", "message": "String should have at most 200 characters"}],
        ),
    ],
)
def test_a_request_body_of_the_wrong_shape_is_refused_with_pointers(
    client: TestClient, payload: dict[str, Any], details: list[dict[str, str]]
) -> None:
    body = _error(client.post("/api/v1/automations", json=payload), 422, "invalid_request")
    assert body["details"] == details


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    for path in ("/api/v1/nope", "/api/v2/automations", "/nothing-here"):
        body = _error(client.get(path), 404, "not_found")
        assert body["message"] == "no such resource"


def test_a_wrong_method_is_a_json_405(client: TestClient) -> None:
    body = _error(client.delete("/api/v1/automations"), 405, "method_not_allowed")
    assert body["message"] == "method not allowed"


def test_a_domain_error_is_mapped_by_the_one_table(client: TestClient) -> None:
    body = _error(client.get("/api/v1/automations/ghost"), 404, "automation_not_found")
    assert body["message"] == "no automation named 'ghost'"


@pytest.mark.parametrize(
    ("source", "message", "details"),
    [
        (
            SHAPE_PROBLEMS,
            "x.yaml: 4 problems",
            [
                {"pointer": "/name", "line": 1,
                 "message": "String should match pattern '^[a-z][a-z0-9-]{1,62}$'"},
                {"pointer": "/colour", "line": 3, "message": "unknown key 'colour'"},
                {"pointer": "/steps/0/log/level", "line": 8,
                 "message": "Input should be 'debug', 'info', 'warning' or 'error'"},
                {"pointer": "/steps/1/wait/for", "line": 10,
                 "message": "missing required key 'for'"},
            ],
        ),
        (
            DOCUMENT_PROBLEMS,
            "x.yaml: 2 problems",
            [
                {"pointer": "/steps/1/id", "line": 8,
                 "message": "duplicate step id 'first' (first used by step 0)"},
                {"pointer": "/steps/2/condition/then", "line": 11,
                 "message": "no step has the id 'nowhere' "
                            "(a branch goes to a later step or 'end')"},
            ],
        ),
        (
            "name: [unclosed\n",
            "x.yaml: 1 problem",
            [{"pointer": "", "line": 2, "message": "invalid YAML: while parsing a flow sequence; "
              "expected ',' or ']', but got '<stream end>'"}],
        ),
    ],
)  # fmt: skip
def test_an_invalid_definition_lists_every_problem_and_stores_nothing(
    client: TestClient,
    services: Services,
    source: str,
    message: str,
    details: list[dict[str, Any]],
) -> None:
    response = client.post("/api/v1/automations", json={"source": source, "filename": "x.yaml"})
    body = _error(response, 422, "invalid_definition")
    assert (body["message"], body["details"]) == (message, details)
    assert client.get("/api/v1/automations").json() == []
    assert services.audit.list(tag="automations:") == []


def test_an_invalid_change_leaves_the_stored_version_alone(client: TestClient) -> None:
    applied = client.post("/api/v1/automations", json={"source": VALID, "filename": "x.yaml"})
    assert applied.status_code == 200 and applied.json()["version"] == 1
    broken = client.post(
        "/api/v1/automations", json={"source": DOCUMENT_PROBLEMS, "filename": "x.yaml"}
    )
    _error(broken, 422, "invalid_definition")
    [row] = client.get("/api/v1/automations").json()
    assert (row["name"], row["version"]) == ("nightly", 1)
    assert [v["version"] for v in client.get("/api/v1/automations/nightly/versions").json()] == [1]
