"""AUTH-3 (service part): server-side sessions with a 15-minute idle and a 12-hour
absolute timeout, a new id whenever a sign-in steps up (no fixation), revocation
of one or all, and every session ended when its person is disabled."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bastion.app import Services, build
from bastion.authz import Role
from bastion.clock import FrozenClock
from bastion.errors import Conflict, NotFound
from bastion.identity import InvalidSession
from bastion.identity.sessions import MAX_PRESENTED
from tests.factories.identity import IP, PASSWORD, enrol, make_user, sign_in
from tests.fixtures.services import OPERATOR

CRITICAL = """
name: vault-sync
owner: ops
sensitivity: critical
trigger: {manual: {}}
steps:
  - id: a
    transform: {value: 1}
"""


def _rows(services: Services) -> list[dict[str, Any]]:
    with services.db.reader() as s:
        rows = s.execute(text("SELECT * FROM sessions ORDER BY created_at, id")).mappings()
        return [dict(r) for r in rows]


def test_session_ids_are_256_random_bits_stored_only_as_a_keyed_digest(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    token = enrolled.session.token
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    rows = _rows(services)
    for row in rows:
        assert token not in str(row)
    [live] = [r for r in rows if r["ended_at"] is None]
    assert live["digest"].startswith("v1:") and live["id"] == enrolled.session.id


def test_the_idle_timeout_is_fifteen_minutes(services: Services, clock: FrozenClock) -> None:
    session = enrol(services, clock).session
    assert session.idle_timeout == timedelta(minutes=15)
    clock.advance(timedelta(minutes=14, seconds=59))
    services.sessions.validate(session.token)  # activity moves the idle clock on
    clock.advance(timedelta(minutes=14, seconds=59))
    services.sessions.validate(session.token)
    clock.advance(timedelta(minutes=15))
    with pytest.raises(InvalidSession):
        services.sessions.validate(session.token)
    [expired] = services.audit.list(tag="identity:session:expired")
    assert '"detail":"idle_timeout"' in expired.data and expired.actor_kind == "system"
    with pytest.raises(InvalidSession):  # ended for good, and audited once
        services.sessions.validate(session.token)
    assert len(services.audit.list(tag="identity:session:expired")) == 1


def test_the_absolute_timeout_is_twelve_hours_whatever_the_activity(
    services: Services, clock: FrozenClock
) -> None:
    session = enrol(services, clock).session
    assert session.expires_at == clock.now() + timedelta(hours=12)
    for _ in range(12 * 6 - 1):
        clock.advance(timedelta(minutes=10))
        services.sessions.validate(session.token)
    clock.advance(timedelta(minutes=10))  # now exactly 12 h after sign-in
    with pytest.raises(InvalidSession):
        services.sessions.validate(session.token)
    [expired] = services.audit.list(tag="identity:session:expired")
    assert '"detail":"absolute_timeout"' in expired.data


def test_last_seen_is_written_at_most_once_a_minute(services: Services, clock: FrozenClock) -> None:
    session = enrol(services, clock).session
    start = clock.now()

    def last_seen() -> Any:
        return next(r["last_seen_at"] for r in _rows(services) if r["id"] == session.id)

    clock.advance(30)
    services.sessions.validate(session.token)
    assert str(last_seen()).startswith(start.strftime("%Y-%m-%d %H:%M:%S"))
    clock.advance(30)
    services.sessions.validate(session.token)
    assert str(last_seen()).startswith(clock.now().strftime("%Y-%m-%d %H:%M:%S"))


def test_timeouts_come_from_settings(settings: Any, clock: FrozenClock) -> None:
    short = settings.model_copy(update={"session_idle_seconds": 60.0})
    svc = build(short, clock, migrate=False)
    try:
        session = enrol(svc, clock).session
        clock.advance(61)
        with pytest.raises(InvalidSession):
            svc.sessions.validate(session.token)
    finally:
        svc.db.dispose()


def test_a_pre_login_id_never_becomes_an_authenticated_session(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    clock.advance(30)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    with pytest.raises(InvalidSession):
        services.sessions.validate(challenge.token)
    from bastion.identity.totp import code_at

    session = services.identity.verify_totp(
        challenge.token, code_at(enrolled.seed, clock.now()), IP
    )
    assert session.token != challenge.token
    with pytest.raises(InvalidSession):  # still not, after the sign-in completed
        services.sessions.validate(challenge.token)
    assert services.sessions.validate(session.token).id == enrolled.user.id


def test_stepping_up_from_enrolment_issues_a_new_id_and_ends_the_old(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    rows = {r["stage"]: r for r in _rows(services)}
    assert rows["enrolment"]["end_reason"] == "privilege_change"
    assert rows["full"]["id"] == enrolled.session.id and rows["full"]["ended_at"] is None
    assert rows["challenge"]["end_reason"] == "completed"


@pytest.mark.parametrize("presented", ["", "x", "A" * 43, "A" * (MAX_PRESENTED + 1)])
def test_unknown_ids_are_refused_alike(services: Services, presented: str) -> None:
    with pytest.raises(InvalidSession) as info:
        services.sessions.validate(presented)
    assert (info.value.code, info.value.message) == (
        "invalid_session", "the session has ended; sign in again"
    )  # fmt: skip


def test_logout_ends_only_this_session(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock)
    other = sign_in(services, clock, enrolled)
    services.sessions.logout(enrolled.session.token)
    with pytest.raises(InvalidSession):
        services.sessions.validate(enrolled.session.token)
    services.sessions.validate(other.token)
    services.sessions.logout(enrolled.session.token)  # twice is harmless
    services.sessions.logout("nonsense")


def test_revoke_one_session(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock)
    other = sign_in(services, clock, enrolled)
    assert [s.id for s in services.sessions.list(enrolled.user.id)] == [
        enrolled.session.id, other.id,
    ]  # fmt: skip
    services.sessions.revoke(other.id, OPERATOR)
    with pytest.raises(InvalidSession):
        services.sessions.validate(other.token)
    services.sessions.validate(enrolled.session.token)
    with pytest.raises(NotFound):
        services.sessions.revoke(other.id, OPERATOR)
    [event] = [
        e for e in services.audit.list(tag="identity:session:revoked", limit=100)
        if '"reason":"revoked"' in e.data
    ]  # fmt: skip
    assert (event.subject_id, event.actor_kind) == (enrolled.user.id, "cli")


def test_log_out_everywhere(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock)
    others = [sign_in(services, clock, enrolled) for _ in range(2)]
    bystander = enrol(services, clock, "bob@example.com")
    assert services.sessions.revoke_all(enrolled.user.id, OPERATOR) == 3
    for session in [enrolled.session, *others]:
        with pytest.raises(InvalidSession):
            services.sessions.validate(session.token)
    assert services.sessions.list(enrolled.user.id) == []
    services.sessions.validate(bystander.session.token)


def test_disabling_a_user_ends_all_their_sessions(services: Services, clock: FrozenClock) -> None:
    make_user(services, "root@example.com", roles=[Role.ADMIN])
    enrolled = enrol(services, clock)
    other = sign_in(services, clock, enrolled)
    services.identity.users.disable(enrolled.user.id, OPERATOR)
    for session in (enrolled.session, other):
        with pytest.raises(InvalidSession):
            services.sessions.validate(session.token)
    assert {r["end_reason"] for r in _rows(services) if r["user_id"] == enrolled.user.id} >= {
        "user_disabled"
    }
    services.identity.users.enable(enrolled.user.id, OPERATOR)
    with pytest.raises(InvalidSession):  # enabling does not bring old sessions back
        services.sessions.validate(other.token)


def test_a_role_change_ends_the_sessions_issued_under_the_old_roles(
    services: Services, clock: FrozenClock
) -> None:
    make_user(services, "root@example.com", roles=[Role.ADMIN])
    enrolled = enrol(services, clock, roles=[Role.VIEWER])
    services.identity.users.set_roles(enrolled.user.id, [Role.EDITOR], OPERATOR)
    with pytest.raises(InvalidSession):
        services.sessions.validate(enrolled.session.token)
    fresh = services.sessions.validate(sign_in(services, clock, enrolled).token)
    assert fresh.roles == {"editor"} and "automations:automation:write" in fresh.permissions
    [event] = services.audit.list(tag="identity:user:roles_changed")
    assert event.data == '{"before":["viewer"],"after":["editor"]}'


def test_the_last_administrator_cannot_be_removed(services: Services, clock: FrozenClock) -> None:
    root = make_user(services, "root@example.com", roles=[Role.ADMIN])
    with pytest.raises(Conflict):
        services.identity.users.disable(root.id, OPERATOR)
    with pytest.raises(Conflict):
        services.identity.users.set_roles(root.id, [Role.VIEWER], OPERATOR)
    second = make_user(services, "deputy@example.com", roles=[Role.ADMIN])
    services.identity.users.set_roles(root.id, [Role.VIEWER], OPERATOR)
    with pytest.raises(Conflict):
        services.identity.users.disable(second.id, OPERATOR)


def test_a_session_principal_carries_its_grants(
    services: Services, clock: FrozenClock, apply: Any
) -> None:
    result = apply(CRITICAL)
    enrolled = enrol(services, clock)
    automation = services.automations.get("vault-sync")
    assert result.outcome == "created"
    services.grants.grant("user", enrolled.user.id, automation.id, OPERATOR)
    principal = services.sessions.validate(enrolled.session.token)
    assert principal.grants == {automation.id}
    assert principal.session_id == enrolled.session.id
