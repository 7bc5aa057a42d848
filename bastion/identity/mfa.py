"""Second factors (AUTH-1): TOTP enrolment and checks, and single-use recovery codes.

Seeds come from the CSPRNG (ASVS V6.5.3) and are sealed under the user's own data
key, bound to their row. Recovery codes are shown once and stored as keyed
digests; each works once (ASVS V6.5.1).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import Permission, Principal, authorize
from bastion.crypto import random_bytes
from bastion.errors import BastionError, NotFound
from bastion.identity import totp
from bastion.identity.deps import IdentityDeps
from bastion.identity.digests import Purpose
from bastion.identity.errors import AlreadyEnrolled, ClockOutOfSync, CodeReplayed, InvalidCode
from bastion.identity.models import RecoveryCodeRow, TotpRow, UserRow
from bastion.identity.sessions import FULL, NewSession, SessionService
from bastion.identity.users import UserService, user_aad
from bastion.ids import new_id

RECOVERY_CODES = 10
_RECOVERY_BYTES = 10  # 80 bits each; guessing online is bounded by the account lockout


@dataclass(frozen=True)
class TotpEnrolment:
    """What the authenticator app needs: the seed as base32, and as a QR-code URI."""

    secret: str
    uri: str


@dataclass(frozen=True)
class Enrolled:
    """The recovery codes (shown once, never again) and the session that replaces
    the one the enrolment was made in (None if it was made without one)."""

    recovery_codes: list[str]
    session: NewSession | None


def code_error(outcome: totp.Outcome) -> InvalidCode:
    if outcome is totp.Outcome.REPLAYED:
        return CodeReplayed("this code has been used already; wait for the next one")
    if outcome is totp.Outcome.OUT_OF_SYNC:
        return ClockOutOfSync(
            "the code belongs to another time: set your authenticator device's clock right"
        )
    return InvalidCode("the code is wrong")


class MfaService:
    def __init__(self, deps: IdentityDeps, users: UserService, sessions: SessionService) -> None:
        self._deps, self._users, self._sessions = deps, users, sessions

    def begin_totp(self, principal: Principal) -> TotpEnrolment:
        """Start (or restart) enrolling an authenticator for the signed-in person.
        Raises Forbidden without ``identity:mfa:enroll``, AlreadyEnrolled if one is
        confirmed (an administrator resets it for a lost device)."""
        authorize(principal, Permission.IDENTITY_MFA_ENROLL)
        seed, now = totp.new_seed(), self._deps.clock.now()
        with self._deps.db.transaction() as s:
            user = _user(s, principal.id)
            current = s.get(TotpRow, user.id, with_for_update=True)
            if current is not None and current.confirmed_at is not None:
                raise AlreadyEnrolled("an authenticator is enrolled already")
            if current is not None:
                s.delete(current)
                s.flush()
            sealed = self._seal_seed(user, seed)
            s.add(TotpRow(user_id=user.id, seed=sealed, created_at=now, confirmed_at=None))
            self._record(s, AuditTag.IDENTITY_MFA_STARTED, user.id, {"kind": "totp"})
            email = self._users.email_of(user)
        return TotpEnrolment(totp.encode_seed(seed), totp.provisioning_uri(seed, email))

    def confirm_totp(self, principal: Principal, code: str, ip: str | None = None) -> Enrolled:
        """Confirm enrolment with a first code from the device. On success the session
        it was made in is replaced by a new full one (a privilege change), and ten
        recovery codes are issued. Raises InvalidCode (or its ClockOutOfSync
        subclass), NotFound if no enrolment was started, AlreadyEnrolled."""
        authorize(principal, Permission.IDENTITY_MFA_ENROLL)
        with self._deps.db.transaction() as s:
            outcome = self._confirm(s, principal, code, ip)
        if isinstance(outcome, BastionError):
            raise outcome
        return outcome

    def regenerate_recovery_codes(self, principal: Principal, code: str) -> list[str]:
        """Replace the person's recovery codes; a current TOTP code is required, as for
        any change of authentication data (ASVS V7.5.1). Raises InvalidCode."""
        authorize(principal, Permission.IDENTITY_MFA_ENROLL)
        with self._deps.db.transaction() as s:
            check = self.check_totp(s, principal.id, code)
            if check is not None and check.outcome is totp.Outcome.ACCEPTED:
                return self._issue_codes(s, principal.id)
        raise code_error(check.outcome if check is not None else totp.Outcome.WRONG)

    def reset(self, user_id: str, actor: Actor) -> None:
        """Remove a person's authenticator and recovery codes (a lost device) and end
        their sessions; they enrol again at their next sign-in. Raises NotFound."""
        with self._deps.db.transaction() as s:
            user = _user(s, user_id)
            s.execute(delete(TotpRow).where(TotpRow.user_id == user.id))
            s.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id))
            self._record(s, AuditTag.IDENTITY_MFA_RESET, user.id, {}, actor)
            self._sessions.end(s, user.id, "mfa_reset", actor)

    # Used by the sign-in flow, inside its transaction, with the user row locked.

    def enrolled(self, s: Session, user_id: str) -> bool:
        row = s.get(TotpRow, user_id)
        return row is not None and row.confirmed_at is not None

    def check_totp(self, s: Session, user_id: str, code: str) -> totp.Check | None:
        """Judge a code against the confirmed authenticator (None if there is none);
        an accepted code's time step is remembered, so it never works again."""
        row = s.get(TotpRow, user_id, with_for_update=True)
        if row is None or row.confirmed_at is None:
            return None
        check = totp.check(self._open_seed(row), code, self._deps.clock.now(), row.last_step)
        if check.outcome is totp.Outcome.ACCEPTED:
            row.last_step = check.step
        return check

    def use_recovery_code(self, s: Session, user_id: str, code: str) -> int | None:
        """Spend a recovery code: the number left, or None if it is wrong or used."""
        digest = self._deps.digests.digest(Purpose.RECOVERY_CODE, _normalise(code))
        spent = s.execute(
            update(RecoveryCodeRow)
            .where(RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.digest == digest)
            .where(RecoveryCodeRow.used_at.is_(None))
            .values(used_at=self._deps.clock.now())
        )
        if not spent.rowcount:  # type: ignore[attr-defined]
            return None
        left = select(func.count()).where(
            RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None)
        )
        return int(s.scalar(left) or 0)

    def _confirm(
        self, s: Session, principal: Principal, code: str, ip: str | None
    ) -> Enrolled | BastionError:
        user = _user(s, principal.id)
        row = s.get(TotpRow, user.id, with_for_update=True)
        if row is None:
            return NotFound("start the enrolment first")
        if row.confirmed_at is not None:
            return AlreadyEnrolled("an authenticator is enrolled already")
        check = totp.check(self._open_seed(row), code, self._deps.clock.now(), None)
        if check.outcome is not totp.Outcome.ACCEPTED:
            data = {"reason": check.outcome.value}
            self._record(s, AuditTag.IDENTITY_MFA_REFUSED, user.id, data, ip=ip)
            return code_error(check.outcome)
        row.confirmed_at, row.last_step = self._deps.clock.now(), check.step
        self._record(s, AuditTag.IDENTITY_MFA_ENROLLED, user.id, {"kind": "totp"}, ip=ip)
        codes = self._issue_codes(s, user.id)
        if principal.session_id is None:
            return Enrolled(codes, None)
        actor = Actor("user", user.id)
        self._sessions.end(s, user.id, "privilege_change", actor, session_id=principal.session_id)
        return Enrolled(codes, self._sessions.issue(s, user.id, FULL, ip))

    def _issue_codes(self, s: Session, user_id: str) -> list[str]:
        s.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
        codes = [_new_code() for _ in range(RECOVERY_CODES)]
        now = self._deps.clock.now()
        for code in codes:
            digest = self._deps.digests.digest(Purpose.RECOVERY_CODE, _normalise(code))
            s.add(RecoveryCodeRow(id=new_id(), user_id=user_id, digest=digest, created_at=now))
        data: dict[str, object] = {"count": len(codes)}
        self._record(s, AuditTag.IDENTITY_RECOVERY_CODES_ISSUED, user_id, data)
        return codes

    def _seal_seed(self, user: UserRow, seed: bytes) -> str:
        key = self._deps.sealer.key(user.data_key_id)
        return self._deps.sealer.seal(key, seed, user_aad(user.id, "totp"))

    def _open_seed(self, row: TotpRow) -> bytes:
        return self._deps.sealer.open(row.seed, user_aad(row.user_id, "totp"))

    def _record(
        self, s: Session, tag: AuditTag, user_id: str, data: dict[str, object],
        actor: Actor | None = None, ip: str | None = None,
    ) -> None:  # fmt: skip
        actor = actor or Actor("user", user_id)
        self._deps.audit.record(s, AuditEvent(tag, actor, "user", user_id, data=data, ip=ip))


def _user(s: Session, user_id: str) -> UserRow:
    row = s.get(UserRow, user_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return row


def _new_code() -> str:
    text = base64.b32encode(random_bytes(_RECOVERY_BYTES)).decode().lower()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _normalise(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())
