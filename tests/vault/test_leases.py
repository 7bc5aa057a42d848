"""SA-2 and AUD-3 at run time: a step gets a credential only through a live grant, the
refusal comes before the step does anything, and every lease and refusal is audited
with its execution and step."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bastion import codec
from bastion.app import Services
from bastion.engine import State
from bastion.vault import CredentialNotGranted, Use
from tests.fixtures.services import OPERATOR
from tests.vault.conftest import Recorder, flow, run_and_wait


def test_a_lease_is_audited_with_its_execution_and_step(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str
) -> None:
    apply(flow("pay"))
    services.vault.grant(bearer, "pay", OPERATOR)

    run = live(lambda svc: run_and_wait(svc, "pay"))
    assert run.state == State.succeeded, run.error_message
    [(execution_id, lease)] = recorder.leases
    assert (execution_id, lease.credential, lease.version) == (run.id, "bank-api", 1)
    [event] = services.audit.list(tag="vault:credential:leased")
    assert codec.loads(event.data) == {
        "credential": "bank-api", "version": 1, "execution": run.id, "step": "pay",
    }  # fmt: skip
    pay = services.automations.get("pay")
    assert (event.actor_kind, event.actor_id, event.actor_name) == ("automation", pay.id, "pay")
    assert event.automation_id == pay.id
    assert services.vault.show(bearer).grants[0].last_used_at is not None
    assert services.audit.verify().ok


def test_without_a_grant_the_step_fails_closed_before_any_network_call(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str,
    upstream: HTTPServer,
) -> None:  # fmt: skip
    upstream.expect_request("/pay").respond_with_json({"ok": True})
    apply(flow("pay", url=upstream.url_for("/pay")))

    run = live(lambda svc: run_and_wait(svc, "pay"))
    assert (run.state, run.error_code) == (State.failed, "credential_not_granted")
    assert "'pay'" in run.error_message and "'bank-api'" in run.error_message
    assert recorder.ran == [] and recorder.leases == []  # the step body never started
    assert upstream.log == []
    [event] = services.audit.list(tag="vault:credential:denied")
    assert event.outcome == "denied"
    assert codec.loads(event.data) == {
        "credential": "bank-api", "reason": "no_grant", "execution": run.id, "step": "pay",
    }  # fmt: skip
    [step] = [s for s in services.engine.get(run.id).steps if s["step_id"] == "pay"]
    assert step["error_code"] == "credential_not_granted"


def test_a_revoked_grant_or_credential_stops_the_next_run(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str
) -> None:
    apply(flow("pay"))
    services.vault.grant(bearer, "pay", OPERATOR)
    assert live(lambda svc: run_and_wait(svc, "pay")).state == State.succeeded
    services.vault.revoke_grant(bearer, "pay", OPERATOR)
    assert live(lambda svc: run_and_wait(svc, "pay")).error_code == "credential_not_granted"
    services.vault.grant(bearer, "pay", OPERATOR)
    services.vault.revoke(bearer, OPERATOR)
    run = live(lambda svc: run_and_wait(svc, "pay"))
    assert run.error_code == "credential_not_granted" and "revoked" in run.error_message
    reasons = [codec.loads(e.data)["reason"] for e in services.audit.list(tag="vault:credential:d")]
    assert reasons == ["no_grant", "revoked"]


def test_a_step_cannot_lease_what_it_does_not_declare(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str
) -> None:
    services.vault.create("other-credential", "bearer", {"token": "other-0123456789"}, OPERATOR)
    apply(flow("pay", mode="undeclared"))
    services.vault.grant(bearer, "pay", OPERATOR)
    services.vault.grant("other-credential", "pay", OPERATOR)
    run = live(lambda svc: run_and_wait(svc, "pay"))
    assert run.error_code == "credential_not_granted"
    assert "does not declare credential 'other-credential'" in run.error_message
    assert services.audit.list(tag="vault:credential:leased") == []


def test_the_service_refuses_a_lease_without_a_grant(
    services: Services, apply: Any, live: Any, bearer: str
) -> None:
    apply(flow("pay"))
    pay = services.automations.get("pay")

    async def lease(svc: Services) -> Any:
        with pytest.raises(CredentialNotGranted) as refused:
            await svc.vault.lease(pay.id, "e-1", "s-1", "cred:bank-api", automation_name="pay")
        assert refused.value.reason == "no_grant"
        with pytest.raises(CredentialNotGranted):
            await svc.vault.check(Use(pay.id, "e-1", "s-1"), frozenset({"cred:nope"}))
        svc.vault.grant(bearer, "pay", OPERATOR)
        await svc.vault.check(Use(pay.id, "e-1", "s-1"), frozenset({"cred:bank-api"}))
        return await svc.vault.lease(pay.id, "e-1", "s-1", "cred:bank-api")

    lease = live(lease)
    assert lease.values() == {"token": lease.secret_values()[0]}
    assert "token" not in repr(lease) or lease.secret_values()[0] not in repr(lease)
    assert len(services.audit.list(tag="vault:credential:denied")) == 2
