"""AUTH-1: TOTP enrolment (CSPRNG seed, sealed at rest, confirmed by a first code),
replay and clock-drift handling at sign-in, and single-use recovery codes."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from sqlalchemy import text

from bastion.app import Services
from bastion.authz import Role
from bastion.clock import FrozenClock
from bastion.errors import Forbidden, NotFound
from bastion.identity import (
    AlreadyEnrolled,
    ClockOutOfSync,
    CodeReplayed,
    InvalidChallenge,
    InvalidCode,
    InvalidSession,
)
from bastion.identity.totp import code_at
from tests.factories.identity import IP, PASSWORD, decode_seed, enrol, make_user, sign_in
from tests.fixtures.services import OPERATOR

CODE = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")


def _rows(services: Services, table: str) -> list[dict[str, Any]]:
    with services.db.reader() as s:
        return [dict(r) for r in s.execute(text(f"SELECT * FROM {table}")).mappings()]


def _enrolment_principal(services: Services, email: str = "ada@example.com") -> Any:
    challenge = services.identity.login(email, PASSWORD, IP)
    return services.sessions.validate(services.identity.start_session(challenge.token).token)


def test_enrolment_gives_a_seed_uri_and_seals_the_seed(
    services: Services, clock: FrozenClock
) -> None:
    make_user(services)
    principal = _enrolment_principal(services)
    started = services.identity.mfa.begin_totp(principal)
    seed = decode_seed(started.secret)
    assert len(seed) == 20
    assert started.uri.startswith("otpauth://totp/Bastion:ada@example.com?secret=")
    [row] = _rows(services, "totp_credentials")
    assert row["seed"].startswith("v1:") and row["confirmed_at"] is None
    for form in (started.secret, seed.hex(), base64.b64encode(seed).decode()):
        assert form not in str(row)
    assert services.identity.users.get(principal.id).mfa_enrolled is False


def test_confirming_replaces_the_session_and_issues_ten_recovery_codes(
    services: Services, clock: FrozenClock
) -> None:
    make_user(services, roles=[Role.EDITOR])
    principal = _enrolment_principal(services)
    seed = decode_seed(services.identity.mfa.begin_totp(principal).secret)
    with pytest.raises(InvalidCode):
        services.identity.mfa.confirm_totp(principal, "000000", IP)
    done = services.identity.mfa.confirm_totp(principal, code_at(seed, clock.now()), IP)
    assert done.session is not None and done.session.stage == "full"
    full = services.sessions.validate(done.session.token)
    assert full.roles == {"editor"} and full.session_id != principal.session_id
    assert len(done.recovery_codes) == len(set(done.recovery_codes)) == 10
    assert all(CODE.match(c) for c in done.recovery_codes)
    stored = _rows(services, "recovery_codes")
    assert len(stored) == 10
    for code in done.recovery_codes:
        assert all(code not in str(r) and code.replace("-", "") not in str(r) for r in stored)
    assert services.identity.users.get(principal.id).mfa_enrolled is True
    tags = [e.tag for e in services.audit.list(tag="identity:", limit=1000)]
    for tag in ("identity:mfa:started", "identity:mfa:refused", "identity:mfa:enrolled",
                "identity:recovery_codes:issued"):  # fmt: skip
        assert tag in tags


def test_the_enrolment_session_ends_when_enrolment_completes(
    services: Services, clock: FrozenClock
) -> None:
    make_user(services)
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    restricted = services.identity.start_session(challenge.token)
    principal = services.sessions.validate(restricted.token)
    seed = decode_seed(services.identity.mfa.begin_totp(principal).secret)
    services.identity.mfa.confirm_totp(principal, code_at(seed, clock.now()), IP)
    with pytest.raises(InvalidSession):
        services.sessions.validate(restricted.token)


def test_an_enrolled_authenticator_cannot_be_replaced_by_its_user(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    principal = services.sessions.validate(enrolled.session.token)
    with pytest.raises(AlreadyEnrolled):
        services.identity.mfa.begin_totp(principal)


def test_only_a_person_may_enrol(services: Services) -> None:
    token = services.tokens.create("t", frozenset(), OPERATOR, ttl=None)
    principal = services.tokens.authenticate(token.token)
    with pytest.raises(Forbidden):
        services.identity.mfa.begin_totp(principal)


def test_confirm_without_starting_is_not_found(services: Services) -> None:
    make_user(services)
    with pytest.raises(NotFound):
        services.identity.mfa.confirm_totp(_enrolment_principal(services), "123456")


def test_a_code_works_once(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock)  # its confirmation used the code of this step
    clock.advance(10)  # same 30-second step
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    with pytest.raises(CodeReplayed) as info:
        services.identity.verify_totp(challenge.token, code_at(enrolled.seed, clock.now()), IP)
    assert info.value.code == "code_replayed"
    clock.advance(30)
    code = code_at(enrolled.seed, clock.now())
    services.identity.verify_totp(challenge.token, code, IP)
    again = services.identity.login(enrolled.user.email, PASSWORD, IP)
    with pytest.raises(CodeReplayed):  # the same code in a new sign-in: still a replay
        services.identity.verify_totp(again.token, code, IP)


@pytest.mark.parametrize(("steps", "error"), [(-2, ClockOutOfSync), (10, ClockOutOfSync),
                                              (-11, InvalidCode), (11, InvalidCode)])  # fmt: skip
def test_a_far_code_is_reported_as_a_clock_problem(
    services: Services, clock: FrozenClock, steps: int, error: type[InvalidCode]
) -> None:
    enrolled = enrol(services, clock)
    clock.advance(300)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    code = code_at(enrolled.seed, clock.now().timestamp() + 30 * steps)
    with pytest.raises(error) as info:
        services.identity.verify_totp(challenge.token, code, IP)
    assert type(info.value) is error
    [*_, failed] = services.audit.list(tag="identity:login:failed", limit=1000)
    assert f'"reason":"{info.value.code}"' in failed.data


@pytest.mark.parametrize("steps", [-1, 1])
def test_one_step_of_drift_is_accepted(services: Services, clock: FrozenClock, steps: int) -> None:
    enrolled = enrol(services, clock)
    clock.advance(300)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    code = code_at(enrolled.seed, clock.now().timestamp() + 30 * steps)
    assert services.identity.verify_totp(challenge.token, code, IP).stage == "full"


def test_recovery_codes_work_once_each(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock)
    first, second = enrolled.recovery_codes[:2]
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    session = services.identity.verify_recovery_code(challenge.token, first.upper(), IP)
    assert services.sessions.validate(session.token).id == enrolled.user.id
    [used] = services.audit.list(tag="identity:recovery_code:used")
    assert used.data == '{"left":9}'
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    with pytest.raises(InvalidCode):
        services.identity.verify_recovery_code(challenge.token, first, IP)
    services.identity.verify_recovery_code(challenge.token, second.replace("-", " "), IP)


def test_another_users_recovery_code_does_not_work(services: Services, clock: FrozenClock) -> None:
    ada = enrol(services, clock)
    bob = enrol(services, clock, "bob@example.com")
    challenge = services.identity.login(bob.user.email, PASSWORD, IP)
    with pytest.raises(InvalidCode):
        services.identity.verify_recovery_code(challenge.token, ada.recovery_codes[0], IP)


def test_regenerating_recovery_codes_needs_a_current_code(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    principal = services.sessions.validate(enrolled.session.token)
    with pytest.raises(InvalidCode):
        services.identity.mfa.regenerate_recovery_codes(principal, "000000")
    clock.advance(30)
    fresh = services.identity.mfa.regenerate_recovery_codes(
        principal, code_at(enrolled.seed, clock.now())
    )
    assert len(fresh) == 10 and not set(fresh) & set(enrolled.recovery_codes)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    with pytest.raises(InvalidCode):  # the old codes are gone
        services.identity.verify_recovery_code(challenge.token, enrolled.recovery_codes[0], IP)
    services.identity.verify_recovery_code(challenge.token, fresh[0], IP)


def test_an_administrator_resets_a_lost_authenticator(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    services.identity.mfa.reset(enrolled.user.id, OPERATOR)
    with pytest.raises(InvalidSession):
        services.sessions.validate(enrolled.session.token)
    assert services.identity.login(enrolled.user.email, PASSWORD, IP).next == "enrol"
    assert _rows(services, "recovery_codes") == []
    [event] = services.audit.list(tag="identity:mfa:reset")
    assert (event.subject_id, event.actor_kind) == (enrolled.user.id, "cli")


def test_a_complete_sign_in_after_enrolment(services: Services, clock: FrozenClock) -> None:
    enrolled = enrol(services, clock, roles=[Role.AUDITOR])
    session = sign_in(services, clock, enrolled)
    principal = services.sessions.validate(session.token)
    assert "audit:event:read" in principal.permissions and principal.roles == {"auditor"}
    with pytest.raises(InvalidChallenge):
        services.identity.verify_totp("not-a-challenge", "123456", IP)
