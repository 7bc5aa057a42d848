"""Signing in (AUTH-1, AUTH-4): the password step, then the second factor.

``login`` checks the password and, when it is right, returns a short-lived
sign-in challenge, never a session. The challenge is exchanged for a session by
a TOTP code, a recovery code, or (for a person without a second factor) an
enrolment-only session; each exchange ends the challenge and issues a new id.

Brute force: every failure of either step counts against the account; at
``login_lockout_failures`` the account locks for ``login_lockout_seconds``,
doubling with each further lockout (up to ``login_lockout_max_seconds``), until
a complete sign-in succeeds. The password step answers every failure with the
same error after the same work (an unknown address is verified against a dummy
hash), and every attempt is an audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import GrantService
from bastion.errors import BastionError
from bastion.identity import totp
from bastion.identity.deps import IdentityDeps
from bastion.identity.errors import InvalidChallenge, InvalidCode, InvalidCredentials, MfaRequired
from bastion.identity.mfa import MfaService, code_error
from bastion.identity.models import SessionRow, UserRow
from bastion.identity.sessions import CHALLENGE, ENROLMENT, FULL, NewSession, SessionService
from bastion.identity.users import ACTIVE, UserService

CHALLENGE_FAILURES = 5  # wrong codes before a challenge ends and the password is asked again
NEXT_TOTP, NEXT_ENROL, NEXT_NONE = "totp", "enrol", "none"
Judge = Callable[[str], InvalidCode | None]  # a second factor's verdict for a user id


@dataclass(frozen=True)
class LoginChallenge:
    """The password was right; a second step is needed. ``token`` continues this
    sign-in only (it is never accepted as a session); ``next`` says with what:
    ``totp`` (a code or a recovery code), ``enrol`` (``start_session`` gives an
    enrolment-only session) or ``none`` (MFA optional and not enrolled:
    ``start_session`` gives a full session)."""

    token: str
    expires_at: datetime
    next: str


class IdentityService:
    def __init__(self, deps: IdentityDeps, grants: GrantService) -> None:
        self._deps = deps
        self.sessions = SessionService(deps, grants)
        self.users = UserService(deps, self.sessions)
        self.mfa = MfaService(deps, self.users, self.sessions)

    def prepare(self) -> None:
        """Load the identity pepper; call once at start-up, before serving."""
        self._deps.digests.prepare()

    def login(self, email: str, password: str, ip: str | None = None) -> LoginChallenge:
        """Check an address and password. Raises InvalidCredentials for every failure:
        unknown address, wrong password, disabled or locked account."""
        with self._deps.db.reader() as s:
            user = self.users.find(s, email)
        if user is None:
            self._deps.hasher.verify_dummy(password)
            self._audit_unknown(email, ip)
            raise InvalidCredentials()
        hasher = self._deps.hasher
        right = hasher.verify(user.password_hash, password)
        fresh = hasher.hash(password) if right and hasher.needs_rehash(user.password_hash) else None
        with self._deps.db.transaction() as s:
            outcome = self._password_step(s, user.id, right, fresh, ip)
        if isinstance(outcome, BastionError):
            raise outcome
        return outcome

    def verify_totp(self, challenge: str, code: str, ip: str | None = None) -> NewSession:
        """Finish a sign-in with an authenticator code; returns a new full session.
        Raises InvalidCode, CodeReplayed or ClockOutOfSync (a failure, counted), or
        InvalidChallenge (sign in again)."""
        with self._deps.db.transaction() as s:
            outcome = self._second_factor(s, challenge, ip, lambda uid: self._totp(s, uid, code))
        if isinstance(outcome, BastionError):
            raise outcome
        return outcome

    def verify_recovery_code(self, challenge: str, code: str, ip: str | None = None) -> NewSession:
        """Finish a sign-in with a recovery code (spent by it); returns a new full
        session. Raises InvalidCode (counted) or InvalidChallenge."""
        with self._deps.db.transaction() as s:
            outcome = self._second_factor(
                s, challenge, ip, lambda uid: self._recovery(s, uid, code, ip)
            )
        if isinstance(outcome, BastionError):
            raise outcome
        return outcome

    def start_session(self, challenge: str, ip: str | None = None) -> NewSession:
        """Finish a sign-in that has no second factor to check: an enrolment-only
        session when MFA is required, else a full one. Raises MfaRequired if the
        account has a second factor, InvalidChallenge."""
        with self._deps.db.transaction() as s:
            outcome = self._without_factor(s, challenge, ip)
        if isinstance(outcome, BastionError):
            raise outcome
        return outcome

    def _password_step(
        self, s: Session, user_id: str, right: bool, fresh: str | None, ip: str | None
    ) -> LoginChallenge | BastionError:
        row = _lock_user(s, user_id)
        refusal = self._refusal(s, row, ip, "password")
        if refusal is None and not right:
            self._count_failure(s, row, ip, "password", "wrong_password")
            refusal = "wrong_password"
        if refusal is not None:
            return InvalidCredentials()
        if fresh is not None:
            row.password_hash = fresh
            self._record(s, AuditTag.IDENTITY_PASSWORD_REHASHED, row.id, {}, ip)
        step = self._next_step(s, row)
        issued = self.sessions.issue(s, row.id, CHALLENGE, ip)
        self._record(s, AuditTag.IDENTITY_LOGIN_CHALLENGED, row.id, {"next": step}, ip)
        return LoginChallenge(issued.token, issued.expires_at, step)

    def _second_factor(
        self, s: Session, challenge: str, ip: str | None, judge: Judge
    ) -> NewSession | BastionError:
        found = self._open_challenge(s, challenge, ip)
        if isinstance(found, BastionError):
            return found
        ch, row = found
        failure: InvalidCode | None = judge(row.id)
        if failure is None:
            self.sessions.close_challenge(ch, "completed")
            return self._succeed(s, row, ip, FULL, "second_factor")
        self._count_failure(s, row, ip, "second_factor", failure.code)
        ch.failures += 1
        if ch.failures >= CHALLENGE_FAILURES or self._locked(row):
            self.sessions.close_challenge(ch, "too_many_failures")
        return failure

    def _totp(self, s: Session, user_id: str, code: str) -> InvalidCode | None:
        check = self.mfa.check_totp(s, user_id, code)
        if check is not None and check.outcome is totp.Outcome.ACCEPTED:
            return None
        return code_error(check.outcome if check is not None else totp.Outcome.WRONG)

    def _recovery(self, s: Session, user_id: str, code: str, ip: str | None) -> InvalidCode | None:
        left = self.mfa.use_recovery_code(s, user_id, code)
        if left is None:
            return InvalidCode("the recovery code is wrong or has been used")
        self._record(s, AuditTag.IDENTITY_RECOVERY_CODE_USED, user_id, {"left": left}, ip)
        return None

    def _without_factor(
        self, s: Session, challenge: str, ip: str | None
    ) -> NewSession | BastionError:
        found = self._open_challenge(s, challenge, ip)
        if isinstance(found, BastionError):
            return found
        ch, row = found
        if self.mfa.enrolled(s, row.id):
            return MfaRequired("this account signs in with a second factor")
        self.sessions.close_challenge(ch, "completed")
        if self._deps.settings.mfa == "required":
            return self.sessions.issue(s, row.id, ENROLMENT, ip)
        return self._succeed(s, row, ip, FULL, "password")

    def _open_challenge(
        self, s: Session, challenge: str, ip: str | None
    ) -> tuple[SessionRow, UserRow] | BastionError:
        ch = self.sessions.find_challenge(s, challenge)
        if ch is None:
            return InvalidChallenge()
        row = _lock_user(s, ch.user_id)
        if self._refusal(s, row, ip, "second_factor") is not None:
            self.sessions.close_challenge(ch, "refused")
            return InvalidChallenge()
        return ch, row

    def _refusal(self, s: Session, row: UserRow, ip: str | None, factor: str) -> str | None:
        """Why a disabled or locked account is refused before its secret counts."""
        reason = None
        if row.status != ACTIVE:
            reason = "disabled"
        elif self._locked(row):
            reason = "locked"
        if reason is not None:
            data = {"reason": reason, "factor": factor}
            self._record(s, AuditTag.IDENTITY_LOGIN_FAILED, row.id, data, ip, outcome="denied")
        return reason

    def _locked(self, row: UserRow) -> bool:
        return row.locked_until is not None and row.locked_until > self._deps.clock.now()

    def _count_failure(
        self, s: Session, row: UserRow, ip: str | None, factor: str, reason: str
    ) -> None:
        settings = self._deps.settings
        row.failed_logins += 1
        data = {"reason": reason, "factor": factor, "failures": row.failed_logins}
        self._record(s, AuditTag.IDENTITY_LOGIN_FAILED, row.id, data, ip, outcome="failure")
        if row.failed_logins < settings.login_lockout_failures:
            return
        seconds = min(
            settings.login_lockout_seconds * 2 ** min(row.lockouts, 20),
            settings.login_lockout_max_seconds,
        )
        row.locked_until = self._deps.clock.now() + timedelta(seconds=seconds)
        row.lockouts, row.failed_logins = row.lockouts + 1, 0
        data = {"seconds": seconds, "lockouts": row.lockouts}
        self._record(s, AuditTag.IDENTITY_LOGIN_LOCKED, row.id, data, ip, outcome="denied")

    def _succeed(
        self, s: Session, row: UserRow, ip: str | None, stage: str, factor: str
    ) -> NewSession:
        """A complete sign-in: earlier failures no longer count (NIST SP 800-63B)."""
        row.failed_logins, row.lockouts, row.locked_until = 0, 0, None
        row.last_login_at = self._deps.clock.now()
        self._record(s, AuditTag.IDENTITY_LOGIN_SUCCEEDED, row.id, {"factor": factor}, ip)
        return self.sessions.issue(s, row.id, stage, ip)

    def _next_step(self, s: Session, row: UserRow) -> str:
        if self.mfa.enrolled(s, row.id):
            return NEXT_TOTP
        return NEXT_ENROL if self._deps.settings.mfa == "required" else NEXT_NONE

    def _audit_unknown(self, email: str, ip: str | None) -> None:
        # The address someone tried is personal data: sealed, never in clear.
        event = AuditEvent(
            AuditTag.IDENTITY_LOGIN_FAILED, Actor("anonymous"), outcome="failure",
            data={"reason": "unknown_user", "factor": "password"},
            sealed={"email": email[:254]}, ip=ip,
        )  # fmt: skip
        with self._deps.db.transaction() as s:
            self._deps.audit.record(s, event)

    def _record(
        self, s: Session, tag: AuditTag, user_id: str, data: dict[str, Any], ip: str | None,
        outcome: str = "success",
    ) -> None:  # fmt: skip
        # Until a sign-in succeeds, nobody has shown they are this user.
        actor = Actor("user", user_id) if outcome == "success" else Actor("anonymous")
        event = AuditEvent(tag, actor, "user", user_id, outcome=outcome, data=data, ip=ip)
        self._deps.audit.record(s, event)


def _lock_user(s: Session, user_id: str) -> UserRow:
    # Users are disabled, never deleted, so a row once found is always there.
    return s.get_one(UserRow, user_id, with_for_update=True)
