"""AUTH-4 and AUTH-1 (service part): the password step answers every failure alike,
locks an account after repeated failures (growing, cleared by a complete sign-in),
rehashes on new parameters, audits every attempt, and never yields a session
without the second factor."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from bastion.app import Services, build
from bastion.authz import Role
from bastion.clock import FrozenClock
from bastion.identity import (
    InvalidChallenge,
    InvalidCode,
    InvalidCredentials,
    InvalidSession,
    MfaRequired,
)
from bastion.identity.passwords import PasswordHasher
from bastion.identity.totp import code_at
from bastion.settings import Settings
from tests.factories.identity import IP, PASSWORD, enrol, make_user, sign_in
from tests.fixtures.services import OPERATOR

WRONG = "wrong horse battery staple"


def _refusal(services: Services, email: str, password: str) -> InvalidCredentials:
    with pytest.raises(InvalidCredentials) as info:
        services.identity.login(email, password, IP)
    return info.value


def _events(services: Services, prefix: str = "identity:login:") -> list[Any]:
    return services.audit.list(tag=prefix, limit=1000)


def test_unknown_user_wrong_password_disabled_and_locked_look_the_same(
    services: Services,
) -> None:
    make_user(services, "ada@example.com")
    disabled = make_user(services, "bob@example.com")
    make_user(services, "root@example.com", roles=[Role.ADMIN])
    services.identity.users.disable(disabled.id, OPERATOR)
    locked = make_user(services, "cy@example.com")
    for _ in range(services.settings.login_lockout_failures):
        _refusal(services, "cy@example.com", WRONG)
    refusals = [
        _refusal(services, "nobody@example.com", PASSWORD),
        _refusal(services, "not an address", PASSWORD),
        _refusal(services, "ada@example.com", WRONG),
        _refusal(services, "bob@example.com", PASSWORD),
        _refusal(services, "cy@example.com", PASSWORD),  # right password, but locked
    ]
    assert {(r.code, r.message, type(r)) for r in refusals} == {
        ("invalid_credentials", InvalidCredentials.MESSAGE, InvalidCredentials)
    }
    assert services.identity.users.get(locked.id).locked_until is not None


def test_an_unknown_user_costs_one_argon2_verification_like_a_wrong_password(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(services)
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, stored: str, password: str) -> bool:
        calls.append(stored)
        return real(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    _refusal(services, "nobody@example.com", PASSWORD)
    _refusal(services, "ada@example.com", WRONG)
    assert len(calls) == 2
    assert all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in calls)


def test_timing_of_unknown_user_and_wrong_password_is_comparable(services: Services) -> None:
    make_user(services)
    _refusal(services, "warm-up@example.com", PASSWORD)  # the dummy hash is made once

    def timed(email: str, password: str) -> float:
        start = time.perf_counter()
        _refusal(services, email, password)
        return time.perf_counter() - start

    unknown, wrong = [], []
    for _ in range(9):  # interleaved, so load affects both alike; 9 < the lockout at 10
        unknown.append(timed("nobody@example.com", PASSWORD))
        wrong.append(timed("ada@example.com", WRONG))
    # The fastest run of each is its intrinsic cost (noise only ever adds time).
    ratio = min(unknown) / min(wrong)
    assert 0.67 < ratio < 1.5, (unknown, wrong)


def test_every_attempt_is_audited_without_the_address_in_clear(services: Services) -> None:
    user = make_user(services)
    _refusal(services, "Nobody@Example.com", PASSWORD)
    _refusal(services, "ada@example.com", WRONG)
    services.identity.login("ada@example.com", PASSWORD, IP)
    events = _events(services)
    assert [(e.tag, e.outcome, e.actor_kind) for e in events] == [
        ("identity:login:failed", "failure", "anonymous"),
        ("identity:login:failed", "failure", "anonymous"),
        ("identity:login:challenged", "success", "user"),
    ]
    unknown, wrong, right = events
    assert unknown.subject_id is None and '"reason":"unknown_user"' in unknown.data
    assert services.audit.open_sealed(unknown) == {"email": "Nobody@Example.com"}
    assert (wrong.subject_id, right.subject_id) == (user.id, user.id)
    assert '"reason":"wrong_password"' in wrong.data and '"failures":1' in wrong.data
    assert {e.ip for e in events} == {IP}
    for event in services.audit.list(limit=1000):
        assert "example.com" not in f"{event.data}{event.actor_name}{event.subject_id}"
    assert services.audit.verify().ok


def test_ten_failures_lock_the_account_for_fifteen_minutes(
    services: Services, clock: FrozenClock
) -> None:
    user = make_user(services)
    for _ in range(9):
        _refusal(services, "ada@example.com", WRONG)
    assert _events(services, "identity:login:locked") == []
    _refusal(services, "ada@example.com", WRONG)
    [locked] = _events(services, "identity:login:locked")
    assert (locked.subject_id, locked.outcome) == (user.id, "denied")
    assert '"seconds":900.0' in locked.data
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    _refusal(services, "ada@example.com", PASSWORD)  # the right password does not help
    assert '"reason":"locked"' in _events(services, "identity:login:failed")[-1].data
    clock.advance(timedelta(seconds=1))
    assert services.identity.login("ada@example.com", PASSWORD, IP).next == "enrol"


def test_lockouts_grow_until_a_complete_sign_in_clears_them(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    email = enrolled.user.email

    def lock() -> str:
        for _ in range(10):
            _refusal(services, email, WRONG)
        return str(_events(services, "identity:login:locked")[-1].data)

    assert '"seconds":900.0' in lock()
    clock.advance(timedelta(minutes=15))
    assert '"seconds":1800.0' in lock()
    clock.advance(timedelta(minutes=30))
    assert '"seconds":3600.0' in lock()
    clock.advance(timedelta(hours=1))
    # The password alone is not a complete sign-in: the failures still count.
    services.identity.login(email, PASSWORD, IP)
    assert services.identity.users.get(enrolled.user.id).locked_until is not None
    sign_in(services, clock, enrolled)
    assert services.identity.users.get(enrolled.user.id).locked_until is None
    assert '"seconds":900.0' in lock()  # back to the first step


def test_the_lockout_is_capped(services: Services, clock: FrozenClock) -> None:
    settings = services.settings.model_copy(
        update={"login_lockout_failures": 1, "login_lockout_max_seconds": 3600.0}
    )
    svc = build(settings, clock, migrate=False)
    try:
        make_user(svc)
        for _ in range(4):
            _refusal(svc, "ada@example.com", WRONG)
            clock.advance(timedelta(hours=2))
        seconds = [e.data for e in _events(svc, "identity:login:locked")]
        assert seconds == [
            '{"seconds":900.0,"lockouts":1}', '{"seconds":1800.0,"lockouts":2}',
            '{"seconds":3600.0,"lockouts":3}', '{"seconds":3600.0,"lockouts":4}',
        ]  # fmt: skip
    finally:
        svc.db.dispose()


def test_the_lockout_lives_in_the_database(services: Services, settings: Settings) -> None:
    make_user(services)
    for _ in range(10):
        _refusal(services, "ada@example.com", WRONG)
    other = build(settings, services.clock, migrate=False)  # another process, same database
    try:
        _refusal(other, "ada@example.com", PASSWORD)
    finally:
        other.db.dispose()


def test_a_login_without_mfa_yields_only_an_enrolment_session(services: Services) -> None:
    make_user(services, roles=[Role.ADMIN])
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    assert challenge.next == "enrol"
    with pytest.raises(InvalidSession):
        services.sessions.validate(challenge.token)  # a challenge is never a session
    restricted = services.identity.start_session(challenge.token, IP)
    principal = services.sessions.validate(restricted.token)
    assert restricted.stage == "enrolment"
    assert [p.value for p in principal.permissions] == ["identity:mfa:enroll"]
    assert principal.roles == frozenset()
    assert _events(services, "identity:login:succeeded") == []


def test_with_mfa_optional_an_unenrolled_user_gets_a_full_session(
    services: Services, clock: FrozenClock
) -> None:
    svc = build(services.settings.model_copy(update={"mfa": "optional"}), clock, migrate=False)
    try:
        make_user(svc, roles=[Role.VIEWER])
        challenge = svc.identity.login("ada@example.com", PASSWORD, IP)
        assert challenge.next == "none"
        session = svc.identity.start_session(challenge.token, IP)
        assert session.stage == "full"
        assert "automations:automation:read" in svc.sessions.validate(session.token).permissions
    finally:
        svc.db.dispose()


def test_an_enrolled_user_must_pass_the_second_factor(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    clock.advance(30)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    assert challenge.next == "totp"
    with pytest.raises(MfaRequired):
        services.identity.start_session(challenge.token, IP)
    with pytest.raises(InvalidCode):
        services.identity.verify_totp(challenge.token, "000000", IP)
    session = services.identity.verify_totp(
        challenge.token, code_at(enrolled.seed, clock.now()), IP
    )
    assert session.token != challenge.token and session.stage == "full"
    with pytest.raises(InvalidChallenge):  # the challenge is spent
        services.identity.verify_totp(challenge.token, code_at(enrolled.seed, clock.now()), IP)
    [*_, succeeded] = _events(services, "identity:login:succeeded")
    assert '"factor":"second_factor"' in succeeded.data


def test_second_factor_failures_count_towards_the_lockout(
    services: Services, clock: FrozenClock
) -> None:
    enrolled = enrol(services, clock)
    clock.advance(30)
    for _ in range(2):  # 5 wrong codes end a challenge; the count goes on across them
        challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
        for _ in range(5):
            with pytest.raises(InvalidCode):
                services.identity.verify_totp(challenge.token, "000000", IP)
        with pytest.raises(InvalidChallenge):
            services.identity.verify_totp(challenge.token, code_at(enrolled.seed, clock.now()), IP)
    assert _events(services, "identity:login:locked")
    _refusal(services, enrolled.user.email, PASSWORD)


def test_a_challenge_expires_after_five_minutes(services: Services, clock: FrozenClock) -> None:
    make_user(services)
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    assert challenge.expires_at == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(InvalidChallenge):
        services.identity.start_session(challenge.token, IP)


def test_a_user_disabled_mid_sign_in_is_refused(services: Services) -> None:
    user = make_user(services)
    make_user(services, "root@example.com", roles=[Role.ADMIN])
    challenge = services.identity.login("ada@example.com", PASSWORD, IP)
    services.identity.users.disable(user.id, OPERATOR)
    with pytest.raises(InvalidChallenge):
        services.identity.start_session(challenge.token, IP)


def test_the_password_is_rehashed_when_the_parameters_change(
    settings: Settings, clock: FrozenClock
) -> None:
    weaker = settings.model_copy(
        update={"password_hash_memory_kib": 9216, "password_hash_iterations": 4}
    )
    old = build(weaker, clock, migrate=False)
    try:
        user = make_user(old)
        before = _hash_of(old, user.id)
        assert "m=9216,t=4,p=1" in before
        old.identity.login("ada@example.com", PASSWORD, IP)
        assert _hash_of(old, user.id) == before  # same parameters: left alone
    finally:
        old.db.dispose()
    new = build(settings, clock, migrate=False)
    try:
        _refusal(new, "ada@example.com", WRONG)
        assert _hash_of(new, user.id) == before  # only a right password can be rehashed
        new.identity.login("ada@example.com", PASSWORD, IP)
        after = _hash_of(new, user.id)
        assert after.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        [event] = new.audit.list(tag="identity:password:rehashed")
        assert event.subject_id == user.id
        new.identity.login("ada@example.com", PASSWORD, IP)  # and it still opens
    finally:
        new.db.dispose()


def _hash_of(services: Services, user_id: str) -> str:
    from bastion.identity.models import UserRow

    with services.db.reader() as s:
        row = s.get(UserRow, user_id)
        assert row is not None
        return row.password_hash
