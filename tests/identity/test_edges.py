"""Edges of the identity services that the flow tests do not reach: restarts,
races, fabricated principals, malformed input, and the API token service's own
refusals."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.app import Services
from bastion.authz import Permission, Principal, Role, parse_scopes
from bastion.clock import FrozenClock
from bastion.errors import Invalid, NotFound
from bastion.identity import (
    AlreadyEnrolled,
    InvalidChallenge,
    InvalidCode,
    InvalidCredentials,
    InvalidSession,
)
from bastion.identity.digests import Digests, Purpose
from bastion.identity.models import SessionRow
from bastion.identity.totp import code_at
from tests.factories.identity import IP, PASSWORD, decode_seed, enrol, make_user
from tests.fixtures.services import OPERATOR

WRONG = "wrong horse battery staple"
ENROL = frozenset({Permission.IDENTITY_MFA_ENROLL})


def _enrolment_principal(services: Services) -> Principal:
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    return services.sessions.validate(services.identity.start_session(challenge.token).token)


def test_restarting_an_enrolment_replaces_the_unconfirmed_seed(
    services: Services, clock: FrozenClock
) -> None:
    make_user(services)
    principal = _enrolment_principal(services)
    first = decode_seed(services.identity.mfa.begin_totp(principal).secret)
    second = decode_seed(services.identity.mfa.begin_totp(principal).secret)
    assert first != second
    with pytest.raises(InvalidCode):
        services.identity.mfa.confirm_totp(principal, code_at(first, clock.now()))
    done = services.identity.mfa.confirm_totp(principal, code_at(second, clock.now()))
    with pytest.raises(AlreadyEnrolled):  # the same (now ended) enrolment, once more
        services.identity.mfa.confirm_totp(principal, code_at(second, clock.now()))
    assert done.session is not None


def test_an_enrolment_outside_a_session_issues_no_new_session(
    services: Services, clock: FrozenClock
) -> None:
    user = make_user(services)
    principal = Principal("user", user.id, user.id, ENROL)  # e.g. a future console flow
    seed = decode_seed(services.identity.mfa.begin_totp(principal).secret)
    done = services.identity.mfa.confirm_totp(principal, code_at(seed, clock.now()))
    assert done.session is None and len(done.recovery_codes) == 10


def test_a_principal_for_no_user_is_not_found(services: Services) -> None:
    ghost = Principal("user", "0" * 32, "ghost", ENROL)
    with pytest.raises(NotFound):
        services.identity.mfa.begin_totp(ghost)
    with pytest.raises(NotFound):
        services.identity.mfa.reset("0" * 32, OPERATOR)


def test_a_code_for_an_account_without_an_authenticator_is_wrong_and_counted(
    services: Services,
) -> None:
    make_user(services)
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    with pytest.raises(InvalidCode):
        services.identity.verify_totp(challenge.token, "123456", IP)
    [failed] = services.audit.list(tag="identity:login:failed")
    assert '"reason":"invalid_code"' in failed.data and '"failures":1' in failed.data


def test_an_account_locked_during_a_sign_in_ends_its_challenge(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    clock.advance(30)
    pending = services.identity.login(enrolled.user.email, PASSWORD, IP)
    for _ in range(10):  # someone else hammers the password meanwhile
        with pytest.raises(InvalidCredentials):
            services.identity.login(enrolled.user.email, WRONG, IP)
    with pytest.raises(InvalidChallenge):
        services.identity.verify_totp(pending.token, code_at(enrolled.seed, clock.now()), IP)
    [*_, refused] = services.audit.list(tag="identity:login:failed", limit=100)
    assert refused.data == '{"reason":"locked","factor":"second_factor"}'


@pytest.mark.parametrize("presented", ["", "x" * 200])
def test_malformed_ids_are_ignored_or_refused(services: Services, presented: str) -> None:
    services.sessions.logout(presented)
    with pytest.raises(InvalidChallenge):
        services.identity.start_session(presented)


def test_an_expiry_is_recorded_once_even_when_two_requests_race(
    services: Services, clock: FrozenClock
) -> None:
    session = enrol(services, clock).session
    with services.db.reader() as s:
        row = s.get_one(SessionRow, session.id)
    clock.advance(3600)
    with pytest.raises(InvalidSession):
        services.sessions.validate(session.token)
    services.sessions._expire(row, "idle_timeout", clock.now())  # the slower request
    assert len(services.audit.list(tag="identity:session:expired")) == 1


def test_a_disabled_administrator_does_not_count_as_the_last_one(services: Services) -> None:
    root = make_user(services, "root@example.com", roles=[Role.ADMIN])
    deputy = make_user(services, "deputy@example.com", roles=[Role.ADMIN])
    services.identity.users.disable(deputy.id, OPERATOR)
    services.identity.users.set_roles(deputy.id, [Role.VIEWER], OPERATOR)
    assert services.identity.users.get(deputy.id).roles == ["viewer"]
    assert services.identity.users.get(root.id).roles == ["admin"]


def test_digests_refuse_to_work_before_the_pepper_is_loaded(services: Services) -> None:
    with pytest.raises(RuntimeError):
        Digests(services.sealer, services.clock).digest(Purpose.SESSION, "x")


def test_digests_differ_per_purpose(services: Services) -> None:
    digests = services.identity._deps.digests
    assert len({digests.digest(p, "same value") for p in Purpose}) == len(Purpose)


def test_token_service_refusals(services: Services) -> None:
    with pytest.raises(Invalid):
        services.tokens.create(" ", frozenset(), OPERATOR, ttl=None)
    with pytest.raises(NotFound):
        services.tokens.revoke("0" * 32, OPERATOR)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give at least one scope"),
        ("audit:event:delete", "unknown scope 'audit:event:delete'"),
        ("automations:change:approve", "reserved to interactive sessions"),
        ("audit:event:read,identity:user:write", "'identity:user:write'"),
    ],
)
def test_scopes_a_token_cannot_carry_are_refused(text: str, message: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_scopes(text)
    assert message in info.value.message and info.value.code == "invalid_scopes"


def test_scopes_parse(services: Any) -> None:
    assert parse_scopes(" audit:event:read , engine:execution:run ") == {
        Permission.AUDIT_EVENT_READ, Permission.ENGINE_EXECUTION_RUN,
    }  # fmt: skip
    assert Permission.AUTOMATIONS_CHANGE_APPROVE not in parse_scopes("*")
