"""MIN-1 and write-only credentials: a vault value never comes back out.

The secret goes in through the API; then an execution receives it in its input
(in clear and in every encoding), leases it, echoes it in its output and its log,
fails with it in the error message and crashes with it in an exception. No API
response, stored record, audit event or log line may then hold it in any form,
and the raw SQLite file never holds it at all."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from bastion import steps
from bastion.app import Services, build, create_app, running
from bastion.authz import Permission
from bastion.clock import FrozenClock
from bastion.engine.views import view
from bastion.logs import configure_logging
from bastion.settings import Settings
from bastion.steps.transform import TransformStep
from tests.fixtures.services import OPERATOR
from tests.vault.conftest import (
    SECRET,
    LeasingStep,
    Recorder,
    encodings,
    flow,
    leaks,
    run_and_wait,
)

P = Permission
SCOPES = [
    P.VAULT_CREDENTIAL_READ, P.VAULT_CREDENTIAL_WRITE, P.VAULT_CREDENTIAL_GRANT,
    P.AUTOMATIONS_AUTOMATION_WRITE, P.ENGINE_EXECUTION_RUN, P.ENGINE_EXECUTION_READ,
    P.AUDIT_EVENT_READ,
]  # fmt: skip


@pytest.fixture
def api(services: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    token = services.tokens.create("vault", frozenset(SCOPES), OPERATOR, ttl=None).token
    with TestClient(create_app(services, scheduler=False)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _stored(services: Services, execution_id: str) -> str:
    """Every sealed record of an execution opened as stored (not the masked read path)."""
    row, steps = services.engine._rows(execution_id)
    opened = view(services.sealer, row, "pay", steps)
    return repr([opened.output, opened.error, opened.steps])


def test_the_api_takes_secrets_in_and_never_gives_them_back(
    services: Services, api: Any, recorder: Recorder
) -> None:
    client, auth = api
    body = {"name": "bank-api", "kind": "bearer", "secret": {"token": SECRET},
            "rotation_period_days": 1}  # fmt: skip
    created = client.post("/api/v1/credentials", json=body, headers=auth)
    assert created.status_code == 201, created.text
    bad = {"name": "bad-one", "kind": "basic", "secret": {"username": "u", "password": "tiny"}}
    refused = client.post("/api/v1/credentials", json=bad, headers=auth)
    assert refused.status_code == 422 and "tiny" not in refused.text
    # Granting is reserved to a person: a token holding the scope still cannot.
    grant = client.post("/api/v1/credentials/bank-api/grants", json={"automation": "pay"},
                        headers=auth)  # fmt: skip
    assert grant.status_code == 403
    services.automations.apply(_definition("echo"), OPERATOR)
    services.vault.grant("bank-api", "pay", OPERATOR)
    rotated = client.post("/api/v1/credentials/bank-api/rotate",
                          json={"secret": {"token": SECRET + "-v2"}}, headers=auth)  # fmt: skip
    assert rotated.status_code == 200 and rotated.json()["version"] == 2

    run = client.post("/api/v1/automations/pay/executions",
                      json={"input": encodings(SECRET), "wait": True}, headers=auth)  # fmt: skip
    assert run.json()["state"] == "succeeded", run.text
    responses = [created, refused, rotated, run] + [
        client.get(path, headers=auth)
        for path in ["/api/v1/credentials", "/api/v1/credentials/bank-api",
                     "/api/v1/credentials/due", f"/api/v1/executions/{run.json()['execution_id']}",
                     "/api/v1/audit?limit=1000"]
    ]  # fmt: skip
    for response in responses:
        assert response.status_code < 300 or response is refused, response.text
        assert leaks(response.text) == [], response.request.url
        assert leaks(response.text, SECRET + "-v2") == []
    shown = client.get(f"/api/v1/executions/{run.json()['execution_id']}", headers=auth).json()
    assert shown["steps"][1]["output"]["token"] == "****"
    assert shown["input"]["raw"] == "****"


def _definition(mode: str) -> Any:
    from bastion.automations.loader import load_definition

    return load_definition(flow("pay", mode=mode))


@pytest.mark.parametrize("mode", ["echo", "fail", "crash"])
def test_stored_records_hold_only_the_mask(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str, mode: str
) -> None:
    apply(flow("pay", mode=mode))
    services.vault.grant(bearer, "pay", OPERATOR)
    run = live(lambda svc: run_and_wait(svc, "pay", encodings(SECRET)))
    assert run.state.value == ("succeeded" if mode == "echo" else "failed")
    stored = _stored(services, run.id)
    assert leaks(stored) == [], stored
    assert "****" in stored
    assert leaks(repr([run.output, run.error_message])) == []  # what a waiting caller gets
    assert leaks(repr(services.engine.get(run.id))) == []
    if mode == "fail":
        assert run.error_message.startswith("upstream refused ****")


def test_a_value_leased_then_retired_is_still_masked_in_its_execution(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str
) -> None:
    apply(flow("pay", mode="echo"))
    services.vault.grant(bearer, "pay", OPERATOR)

    async def go(svc: Services) -> Any:
        svc.vault.masker.update([])  # as if another process had retired the value
        return await run_and_wait(svc, "pay")

    run = live(go)
    assert run.state.value == "succeeded"
    assert leaks(_stored(services, run.id)) == []


@pytest.fixture
def captured_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield capsys
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_log_lines_hold_only_the_mask(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str,
    captured_logs: pytest.CaptureFixture[str], fmt: str,
) -> None:  # fmt: skip
    settings = services.settings.model_copy(update={"log_format": fmt})
    configure_logging(settings, mask=services.vault.masker.mask)
    log = structlog.get_logger(f"vault-test-{fmt}")
    log.info(f"event text {SECRET}", token=SECRET, forms=encodings(SECRET), obj=ValueError(SECRET))
    logging.getLogger("vault.stdlib").error("stdlib %s and %s", SECRET, encodings(SECRET)["b64"])
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        log.exception("caught")
    apply(flow("pay", mode="crash"))
    services.vault.grant(bearer, "pay", OPERATOR)
    assert live(lambda svc: run_and_wait(svc, "pay")).error_code == "internal_error"
    out = captured_logs.readouterr()
    text = out.out + out.err
    assert "event text" in text and "stdlib" in text and "client blew up" in text
    assert leaks(text) == [], text


def test_the_database_file_never_holds_a_vault_value(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "bastion.db").write_bytes(sqlite_template.read_bytes())
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'bastion.db'}")
    services = build(settings, FrozenClock(), migrate=False)
    rec = Recorder()
    monkeypatch.setitem(steps.KINDS, "transform", lambda o: LeasingStep(o.value, rec)
                        if isinstance(o.value, dict) and "credential" in o.value
                        else TransformStep(o))  # fmt: skip
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    services.vault.rotate("bank-api", {"token": SECRET + "-v2"}, OPERATOR)
    services.automations.apply(_definition("fail"), OPERATOR)
    services.vault.grant("bank-api", "pay", OPERATOR)

    async def go() -> Any:
        async with running(services, scheduler=False):
            return await run_and_wait(services, "pay", {"echo": SECRET})

    assert asyncio.run(go()).error_code == "step_failed"
    services.db.dispose()
    blob = b"".join(p.read_bytes() for p in sorted(data.glob("bastion.db*")))
    assert b"bank-api" in blob  # the search works: names are stored in clear
    for value in (SECRET, SECRET + "-v2"):
        raw = value.encode()
        for form in [raw, raw.hex().encode(), base64.b64encode(raw), value.encode("utf-16-le")]:
            assert form not in blob, f"{form!r} found in the database file"
