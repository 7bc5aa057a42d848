"""The vault's use cases: write-only values, audited changes, grants, rotation with a
grace period, and due and overdue rotations on a frozen clock (SA-2, SA-3, AUD-3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bastion import codec
from bastion.app import Services
from bastion.audit import AuditEventRow
from bastion.clock import FrozenClock
from bastion.errors import Conflict, Invalid, NotFound
from bastion.vault import MASK, CredentialRevoked, GrantNotFound
from tests.fixtures.services import OPERATOR
from tests.vault.conftest import SECRET, flow, leaks

NEW = "sk_live_NEW-after-rotation-42"


def _events(services: Services, tag: str) -> list[AuditEventRow]:
    return services.audit.list(tag=tag)


def _audit_text(services: Services) -> str:
    """Every audit row, sealed details opened: what an auditor could ever read."""
    rows = services.audit.list(limit=1000)
    return "\n".join(f"{r.data} {services.audit.open_sealed(r)} {r.actor_name}" for r in rows)


def test_create_returns_metadata_only_and_is_audited(services: Services) -> None:
    created = services.vault.create(
        "bank-api", "bearer", {"token": SECRET}, OPERATOR, description="bank",
        rotation_period_days=90,
    )  # fmt: skip
    assert leaks(created.model_dump_json()) == []
    assert (created.name, created.kind, created.version) == ("bank-api", "bearer", 1)
    assert created.due_at == created.rotated_at + timedelta(days=90)
    shown = services.vault.show("bank-api")
    assert leaks(shown.model_dump_json()) == [] and shown.public == {}
    assert [v.state for v in shown.versions] == ["active"]
    [event] = _events(services, "vault:credential:created")
    assert (event.subject_kind, event.actor_name) == ("credential", "tester")
    assert codec.loads(event.data)["kind"] == "bearer"
    assert leaks(_audit_text(services)) == []
    assert services.audit.verify().ok


def test_names_kinds_and_duplicates_are_refused(services: Services) -> None:
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    with pytest.raises(Conflict):
        services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    for name, kind in [("Bank", "bearer"), ("x", "bearer"), ("ok-name", "password")]:
        with pytest.raises(Invalid):
            services.vault.create(name, kind, {"token": SECRET}, OPERATOR)
    with pytest.raises(Invalid):
        services.vault.create("bad-period", "bearer", {"token": SECRET}, OPERATOR,
                              rotation_period_days=0)  # fmt: skip
    assert [c.name for c in services.vault.list()] == ["bank-api"]


def test_rotation_keeps_the_previous_version_for_the_grace_period(
    services: Services, clock: FrozenClock
) -> None:
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    rotated = services.vault.rotate("bank-api", {"token": NEW}, OPERATOR)
    assert rotated.version == 2
    versions = services.vault.show("bank-api").versions
    assert [(v.version, v.state) for v in versions] == [(1, "previous"), (2, "active")]
    assert versions[0].retire_after == clock.now() + timedelta(seconds=3600)
    assert services.vault.masker.mask_text(SECRET) == MASK  # both values are masked
    assert services.vault.masker.mask_text(NEW) == MASK

    clock.advance(timedelta(seconds=3599))
    assert services.vault.check_overdue().retired == 0
    clock.advance(timedelta(seconds=1))
    assert services.vault.check_overdue().retired == 1
    versions = services.vault.show("bank-api").versions
    assert [(v.version, v.state) for v in versions] == [(1, "retired"), (2, "active")]
    assert services.vault.masker.mask_text(SECRET) == SECRET  # retired: no longer held
    [event] = _events(services, "vault:version:retired")
    assert codec.loads(event.data) == {"name": "bank-api", "version": 1}
    assert len(_events(services, "vault:credential:rotated")) == 1
    assert leaks(_audit_text(services)) == [] and leaks(_audit_text(services), NEW) == []


def test_revoke_and_grants_are_audited(services: Services, apply: Any) -> None:
    apply(flow("pay"))
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    granted = services.vault.grant("bank-api", "pay", OPERATOR)
    assert (granted.automation, granted.granted_by) == ("pay", "cli:tester")
    services.vault.grant("bank-api", "pay", OPERATOR)  # granting twice changes nothing
    assert len(_events(services, "vault:grant:created")) == 1
    assert services.vault.show("bank-api").grants[0].automation == "pay"
    services.vault.revoke_grant("bank-api", "pay", OPERATOR)
    with pytest.raises(GrantNotFound):
        services.vault.revoke_grant("bank-api", "pay", OPERATOR)
    with pytest.raises(NotFound):
        services.vault.grant("bank-api", "no-such-automation", OPERATOR)
    services.vault.revoke("bank-api", OPERATOR)
    with pytest.raises(CredentialRevoked):
        services.vault.grant("bank-api", "pay", OPERATOR)
    with pytest.raises(CredentialRevoked):
        services.vault.rotate("bank-api", {"token": NEW}, OPERATOR)
    tags = [e.tag for e in services.audit.list(tag="vault:")]
    assert tags == [
        "vault:credential:created", "vault:grant:created", "vault:grant:revoked",
        "vault:credential:revoked",
    ]  # fmt: skip
    assert {e.automation_id for e in services.audit.list(tag="vault:grant")} == {
        services.automations.get("pay").id
    }


def test_due_and_overdue_rotations(services: Services, clock: FrozenClock) -> None:
    services.vault.create("monthly", "bearer", {"token": SECRET}, OPERATOR,
                          rotation_period_days=30)  # fmt: skip
    services.vault.create("yearly", "bearer", {"token": NEW}, OPERATOR, rotation_period_days=365)
    services.vault.create("forever", "bearer", {"token": "never-rotated-1"}, OPERATOR)
    assert services.vault.due() == []

    clock.advance(timedelta(days=20))  # within the 14-day warning window
    [due] = services.vault.due()
    assert (due.name, due.status) == ("monthly", "due")
    assert services.vault.check_overdue().overdue == []

    clock.advance(timedelta(days=10))
    assert [(d.name, d.status) for d in services.vault.due()] == [("monthly", "overdue")]
    assert services.vault.check_overdue().overdue == ["monthly"]
    assert services.vault.check_overdue().overdue == []  # recorded once, not every minute
    [event] = _events(services, "vault:credential:overdue")
    assert (event.outcome, event.actor_kind) == ("failure", "system")

    services.vault.rotate("monthly", {"token": "sk_live_rotated-in-time"}, OPERATOR)
    assert services.vault.due() == []
    clock.advance(timedelta(days=31))
    assert services.vault.check_overdue().overdue == ["monthly"]  # the next period counts anew
    services.vault.revoke("monthly", OPERATOR)
    assert services.vault.due() == []


def test_unknown_credentials_are_not_found(services: Services) -> None:
    for call in (
        lambda: services.vault.show("nope-nope"),
        lambda: services.vault.rotate("nope-nope", {"token": NEW}, OPERATOR),
        lambda: services.vault.revoke("cred:nope-nope", OPERATOR),
    ):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "credential_not_found"
