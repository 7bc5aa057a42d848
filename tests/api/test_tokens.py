"""API-1: every ``/api/v1`` route needs a live, scoped API token. Tokens are
stored only as a keyed digest, expire, can be revoked, and a denial is audited."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2 as httpx  # what starlette.testclient returns when installed
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bastion.app import Services, create_app
from bastion.authz import Permission
from bastion.clock import FrozenClock
from tests.fixtures.services import OPERATOR

P = Permission
ROUTES: list[tuple[str, str, Permission]] = [
    ("GET", "/api/v1/audit", P.AUDIT_EVENT_READ),
    ("GET", "/api/v1/audit/verify", P.AUDIT_EVENT_READ),
    ("GET", "/api/v1/automations", P.AUTOMATIONS_AUTOMATION_READ),
    ("POST", "/api/v1/automations", P.AUTOMATIONS_AUTOMATION_WRITE),
    ("GET", "/api/v1/automations/{name}", P.AUTOMATIONS_AUTOMATION_READ),
    ("GET", "/api/v1/automations/{name}/diff", P.AUTOMATIONS_AUTOMATION_READ),
    ("POST", "/api/v1/automations/{name}/disable", P.AUTOMATIONS_AUTOMATION_WRITE),
    ("POST", "/api/v1/automations/{name}/enable", P.AUTOMATIONS_AUTOMATION_WRITE),
    ("POST", "/api/v1/automations/{name}/executions", P.ENGINE_EXECUTION_RUN),
    ("GET", "/api/v1/automations/{name}/versions", P.AUTOMATIONS_AUTOMATION_READ),
    ("GET", "/api/v1/credentials", P.VAULT_CREDENTIAL_READ),
    ("POST", "/api/v1/credentials", P.VAULT_CREDENTIAL_WRITE),
    ("GET", "/api/v1/credentials/due", P.VAULT_CREDENTIAL_READ),
    ("GET", "/api/v1/credentials/{name}", P.VAULT_CREDENTIAL_READ),
    ("POST", "/api/v1/credentials/{name}/grants", P.VAULT_CREDENTIAL_GRANT),
    ("DELETE", "/api/v1/credentials/{name}/grants/{automation}", P.VAULT_CREDENTIAL_GRANT),
    ("POST", "/api/v1/credentials/{name}/revoke", P.VAULT_CREDENTIAL_WRITE),
    ("POST", "/api/v1/credentials/{name}/rotate", P.VAULT_CREDENTIAL_WRITE),
    ("GET", "/api/v1/executions", P.ENGINE_EXECUTION_READ),
    ("GET", "/api/v1/executions/{execution_id}", P.ENGINE_EXECUTION_READ),
    ("POST", "/api/v1/executions/{execution_id}/cancel", P.ENGINE_EXECUTION_CANCEL),
]
UNIFORM = "invalid or expired API token"
CID = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services, scheduler=False)) as c:
        yield c


def _token(services: Services, *scopes: Permission, ttl: timedelta | None = None) -> Any:
    return services.tokens.create("t", frozenset(scopes or Permission), OPERATOR, ttl=ttl)


def _url(path: str) -> str:
    return path.replace("{name}", "nightly").replace("{execution_id}", "0" * 32)


def _call(client: TestClient, method: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.request(method, _url(path), headers=headers)


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "correlation_id"}
    assert body["code"] == code
    assert CID.match(body["correlation_id"])
    assert response.headers["x-correlation-id"] == body["correlation_id"]
    return body


def test_the_route_table_covers_every_api_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    served = {
        (method.upper(), path) for path, ops in paths.items() for method in ops
        if path.startswith("/api/")
    }  # fmt: skip
    assert served == {(m, p) for m, p, _ in ROUTES}


def test_no_token_is_refused_on_every_route(client: TestClient) -> None:
    for method, path, _ in ROUTES:
        response = _call(client, method, path)
        body = _assert_error(response, 401, "unauthenticated")
        assert "Bearer" in body["message"]
        assert response.headers["www-authenticate"] == 'Bearer realm="bastion"'


@pytest.mark.parametrize("path", ["/api/v1/automations", "/api/v1/automations/nightly/executions"])
def test_no_token_is_refused_before_the_body_is_parsed(client: TestClient, path: str) -> None:
    # Authentication comes first: an anonymous caller must not reach the body parser
    # (or learn how it fails); it gets the same 401 as every other anonymous request.
    response = client.post(
        path, content=b'{"source": ', headers={"content-type": "application/json"}
    )
    body = _assert_error(response, 401, "unauthenticated")
    assert "details" not in body


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token {token}", "{token}", "bearer"],
)
def test_a_missing_bearer_token_is_refused(
    client: TestClient, services: Services, header: str
) -> None:
    token = _token(services).token
    for method, path, _ in ROUTES:
        response = client.request(
            method,
            _url(path),
            headers={"Authorization": header.format(token=token)},
        )
        _assert_error(response, 401, "unauthenticated")


def _wrong(services: Services, kind: str) -> str:
    token: str = _token(services).token
    lookup, secret = token.split("_")[1], token.split("_", 2)[2]
    return {
        "malformed": "bst_not-a-token",
        "truncated": token[:-1],
        "no prefix": token.removeprefix("bst_"),
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "unknown lookup": f"bst_{'0' * 16}_{secret}",
        "wrong secret": f"bst_{lookup}_{'A' * 43}",
    }[kind]


@pytest.mark.parametrize(
    "kind", ["malformed", "truncated", "no prefix", "jwt", "unknown lookup", "wrong secret"]
)
def test_a_bad_token_is_refused_on_every_route_with_one_message(
    client: TestClient, services: Services, kind: str
) -> None:
    presented = _wrong(services, kind)
    for method, path, _ in ROUTES:
        body = _assert_error(_call(client, method, path, presented), 401, "invalid_token")
        assert body["message"] == UNIFORM


def test_an_expired_token_is_refused_on_every_route(
    client: TestClient, services: Services, clock: FrozenClock
) -> None:
    created = _token(services, ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1) - timedelta(seconds=1))
    assert client.get("/api/v1/automations", headers=_bearer(created.token)).status_code == 200
    clock.advance(timedelta(seconds=1))  # now exactly at expires_at
    for method, path, _ in ROUTES:
        body = _assert_error(_call(client, method, path, created.token), 401, "invalid_token")
        assert body["message"] == UNIFORM


def test_a_revoked_token_is_refused_on_every_route(client: TestClient, services: Services) -> None:
    created = _token(services)
    assert client.get("/api/v1/automations", headers=_bearer(created.token)).status_code == 200
    services.tokens.revoke(created.id, OPERATOR)
    for method, path, _ in ROUTES:
        body = _assert_error(_call(client, method, path, created.token), 401, "invalid_token")
        assert body["message"] == UNIFORM
    [event] = services.audit.list(tag="identity:token:revoked")
    assert (event.subject_id, event.actor_kind) == (created.id, "cli")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES)
def test_a_token_without_the_scope_is_forbidden_and_the_denial_audited(
    client: TestClient, services: Services, method: str, path: str, needed: Permission
) -> None:
    created = _token(services, *(p for p in Permission if p != needed))
    body = _assert_error(_call(client, method, path, created.token), 403, "forbidden")
    assert needed.value in body["message"]
    [event] = services.audit.list(tag="identity:token:denied")
    assert (event.actor_kind, event.actor_id, event.actor_name) == ("token", created.id, "t")
    assert (event.outcome, event.ip) == ("denied", "testclient")
    assert event.data == f'{{"permission":"{needed.value}","path":"{_url(path)}"}}'
    assert services.audit.verify().ok


def test_a_token_with_the_scope_gets_through(client: TestClient, services: Services) -> None:
    created = _token(services, P.AUDIT_EVENT_READ)
    response = client.get("/api/v1/audit/verify", headers=_bearer(created.token))
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert client.get("/api/v1/automations", headers=_bearer(created.token)).status_code == 403


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json"])
def test_health_and_schema_need_no_token(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert CID.match(response.headers["x-correlation-id"])
    body = response.json()
    assert (
        body == {"status": "ok"} if path == "/healthz" else "/api/v1/automations" in body["paths"]
    )


def test_a_well_formed_caller_correlation_id_is_echoed(client: TestClient) -> None:
    response = client.get("/api/v1/automations", headers={"X-Correlation-Id": "req-2026-abcdef"})
    assert response.headers["x-correlation-id"] == "req-2026-abcdef"
    assert response.json()["correlation_id"] == "req-2026-abcdef"
    bad = client.get("/api/v1/automations", headers={"X-Correlation-Id": "<script>x</script>"})
    assert CID.match(bad.headers["x-correlation-id"])
    assert bad.json()["correlation_id"] == bad.headers["x-correlation-id"]


def _raw_rows(services: Services, table: str) -> list[dict[str, Any]]:
    with services.db.reader() as session:
        rows = session.execute(text(f"SELECT * FROM {table}")).mappings().all()
    return [dict(r) for r in rows]


def test_the_stored_row_never_holds_the_secret(client: TestClient, services: Services) -> None:
    created = _token(services)
    _, lookup, secret = created.token.split("_", 2)
    [row] = _raw_rows(services, "api_tokens")
    for column, value in row.items():
        assert secret not in str(value), f"secret found in api_tokens.{column}"
        assert created.token not in str(value)
    [pepper] = [r for r in _raw_rows(services, "data_keys") if r["purpose"] == "pepper:api-tokens"]
    assert re.fullmatch(rf"v1:{pepper['id']}:[0-9a-f]{{64}}", row["digest"])
    assert hashlib.sha256(secret.encode()).hexdigest() not in row["digest"]  # keyed, not plain
    assert (row["lookup"], row["name"], row["revoked_at"]) == (lookup, "t", None)
    for event in _raw_rows(services, "audit_events"):
        assert all(secret not in str(v) for v in event.values())


def test_last_use_is_recorded_at_most_once_a_minute(
    client: TestClient, services: Services, clock: FrozenClock
) -> None:
    created = _token(services)
    assert [t.last_used_at for t in services.tokens.list()] == [None]
    first = clock.now()
    assert client.get("/api/v1/automations", headers=_bearer(created.token)).status_code == 200
    assert [t.last_used_at for t in services.tokens.list()] == [first]
    clock.advance(30)
    client.get("/api/v1/automations", headers=_bearer(created.token))
    assert [t.last_used_at for t in services.tokens.list()] == [first]
    clock.advance(31)
    client.get("/api/v1/automations", headers=_bearer(created.token))
    assert [t.last_used_at for t in services.tokens.list()] == [clock.now()]


def test_a_refused_token_is_not_marked_used(client: TestClient, services: Services) -> None:
    created = _token(services)
    services.tokens.revoke(created.id, OPERATOR)
    client.get("/api/v1/automations", headers=_bearer(created.token))
    assert [t.last_used_at for t in services.tokens.list()] == [None]
