"""Users made through the real identity services, and complete sign-ins."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from bastion.app import Services
from bastion.authz import Role
from bastion.clock import FrozenClock
from bastion.identity import NewSession, UserInfo
from bastion.identity.totp import code_at
from tests.fixtures.services import OPERATOR

PASSWORD = "correct horse battery staple"
IP = "198.51.100.7"


def make_user(
    services: Services,
    email: str = "ada@example.com",
    roles: Iterable[Role] = (Role.VIEWER,),
    password: str = PASSWORD,
) -> UserInfo:
    return services.identity.users.create(email, password, roles, OPERATOR)


def decode_seed(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


@dataclass(frozen=True)
class Enrolled:
    user: UserInfo
    seed: bytes
    session: NewSession
    recovery_codes: list[str]


def enrol(
    services: Services,
    clock: FrozenClock,
    email: str = "ada@example.com",
    roles: Iterable[Role] = (Role.VIEWER,),
) -> Enrolled:
    """A user who signed in, enrolled an authenticator and holds a full session."""
    user = make_user(services, email, roles)
    challenge = services.identity.login(email, PASSWORD, IP)
    restricted = services.identity.start_session(challenge.token, IP)
    principal = services.sessions.validate(restricted.token)
    started = services.identity.mfa.begin_totp(principal)
    seed = decode_seed(started.secret)
    done = services.identity.mfa.confirm_totp(principal, code_at(seed, clock.now()), IP)
    assert done.session is not None
    return Enrolled(user, seed, done.session, done.recovery_codes)


def sign_in(services: Services, clock: FrozenClock, enrolled: Enrolled) -> NewSession:
    """A complete sign-in 30 s later (so the TOTP code is a fresh one)."""
    clock.advance(30)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    return services.identity.verify_totp(challenge.token, code_at(enrolled.seed, clock.now()), IP)
