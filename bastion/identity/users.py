"""People who sign in: creation, the first administrator, roles, disabling."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import Role
from bastion.crypto import random_token
from bastion.errors import Conflict, NotFound
from bastion.identity.deps import IdentityDeps
from bastion.identity.digests import Purpose
from bastion.identity.errors import EmailTaken, InvalidEmail, InvalidSetupToken
from bastion.identity.models import OneTimeTokenRow, TotpRow, UserRoleRow, UserRow
from bastion.identity.passwords import normalise_email
from bastion.identity.sessions import SessionService
from bastion.ids import new_id
from bastion.store.datakeys import DataKeyRow

SETUP_PREFIX = "bsu_"
ACTIVE, DISABLED = "active", "disabled"


@dataclass(frozen=True)
class UserInfo:
    id: str
    email: str
    status: str
    roles: list[str]
    mfa_enrolled: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None


@dataclass(frozen=True)
class SetupToken:
    """The first administrator's one-time token: shown once, never stored."""

    token: str
    expires_at: datetime


class UserService:
    def __init__(self, deps: IdentityDeps, sessions: SessionService) -> None:
        self._deps, self._sessions = deps, sessions

    def create(self, email: str, password: str, roles: Iterable[Role], actor: Actor) -> UserInfo:
        """A new active user. Raises InvalidEmail, WeakPassword, EmailTaken."""
        address = normalise_email(email)
        self._deps.policy.check(password, address)
        hashed = self._deps.hasher.hash(password)
        with self._deps.db.transaction() as s:
            row = self._add(s, address, hashed, frozenset(roles), actor)
        return self.get(row.id)

    def issue_setup_token(self, actor: Actor) -> SetupToken | None:
        """A token that lets one person create the first administrator, or None if any
        user exists. Earlier unused setup tokens stop working."""
        now, secret = self._deps.clock.now(), random_token(32)
        life = timedelta(seconds=self._deps.settings.setup_token_seconds)
        row = OneTimeTokenRow(
            id=new_id(), purpose="setup", digest=self._deps.digests.digest(Purpose.SETUP, secret),
            created_at=now, expires_at=now + life, used_at=None, revoked_at=None,
        )  # fmt: skip
        with self._deps.db.transaction() as s:
            if s.scalar(select(UserRow.id).limit(1)) is not None:
                return None
            s.execute(_unused_setup_tokens().values(revoked_at=now))
            s.add(row)
            self._deps.audit.record(
                s, AuditEvent(AuditTag.IDENTITY_SETUP_TOKEN_ISSUED, actor, "one_time_token", row.id)
            )
        return SetupToken(SETUP_PREFIX + secret, row.expires_at)

    def setup_first_admin(
        self, token: str, email: str, password: str, ip: str | None = None
    ) -> UserInfo:
        """Create the first administrator with a setup token. Raises InvalidEmail or
        WeakPassword (nothing used up), or InvalidSetupToken for a wrong, used,
        superseded or expired token, or once any user exists."""
        address = normalise_email(email)
        self._deps.policy.check(password, address)
        hashed = self._deps.hasher.hash(password)
        secret = token.strip().removeprefix(SETUP_PREFIX)
        digest = self._deps.digests.digest(Purpose.SETUP, secret)
        with self._deps.db.transaction() as s:
            row = s.scalar(_unused_setup(digest, self._deps.clock.now()))
            if row is None or s.scalar(select(UserRow.id).limit(1)) is not None:
                raise InvalidSetupToken()
            row.used_at = self._deps.clock.now()
            actor = Actor("setup_token", row.id)
            user = self._add(s, address, hashed, frozenset({Role.ADMIN}), actor, ip)
            used = AuditEvent(AuditTag.IDENTITY_SETUP_TOKEN_USED, actor, "user", user.id, ip=ip)
            self._deps.audit.record(s, used)
        return self.get(user.id)

    def get(self, user_id: str) -> UserInfo:
        """Raises NotFound."""
        with self._deps.db.reader() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}")
            return self._info(s, row)

    def list(self) -> list[UserInfo]:
        with self._deps.db.reader() as s:
            rows = s.scalars(select(UserRow).order_by(UserRow.created_at, UserRow.id))
            return [self._info(s, r) for r in rows]

    def disable(self, user_id: str, actor: Actor) -> None:
        """Disable and end every session of the user (ASVS V7.4.2). Raises NotFound, or
        Conflict for the last active administrator."""
        with self._deps.db.transaction() as s:
            row = _locked(s, user_id)
            _keep_an_admin(s, row, remove_admin=True)
            row.status, row.updated_at = DISABLED, self._deps.clock.now()
            self._deps.audit.record(s, _event(AuditTag.IDENTITY_USER_DISABLED, actor, row.id))
            self._sessions.end(s, row.id, "user_disabled", actor)

    def enable(self, user_id: str, actor: Actor) -> None:
        with self._deps.db.transaction() as s:
            row = _locked(s, user_id)
            row.status, row.updated_at = ACTIVE, self._deps.clock.now()
            self._deps.audit.record(s, _event(AuditTag.IDENTITY_USER_ENABLED, actor, row.id))

    def set_roles(self, user_id: str, roles: Iterable[Role], actor: Actor) -> None:
        """Replace the user's roles. A privilege change: every session of the user ends,
        so no session outlives the rights it was issued under. Raises NotFound, or
        Conflict when it would leave no active administrator."""
        wanted = sorted(r.value for r in frozenset(roles))
        with self._deps.db.transaction() as s:
            row = _locked(s, user_id)
            before = _role_names(s, row.id)
            _keep_an_admin(s, row, remove_admin=Role.ADMIN.value not in wanted)
            s.execute(delete(UserRoleRow).where(UserRoleRow.user_id == row.id))
            s.add_all(UserRoleRow(user_id=row.id, role=r) for r in wanted)
            row.updated_at = self._deps.clock.now()
            data = {"before": before, "after": wanted}
            tag = AuditTag.IDENTITY_USER_ROLES_CHANGED
            self._deps.audit.record(s, _event(tag, actor, row.id, **data))
            self._sessions.end(s, row.id, "privilege_change", actor)

    def find(self, s: Session, email: str) -> UserRow | None:
        """The user with this address (any case), or None, also for a malformed one."""
        try:
            address = normalise_email(email)
        except InvalidEmail:
            return None
        digest = self._deps.digests.digest(Purpose.EMAIL, address)
        return s.scalar(select(UserRow).where(UserRow.email_digest == digest))

    def email_of(self, row: UserRow) -> str:
        return self._deps.sealer.open(row.email, _aad(row.id, "email")).decode()

    def _add(
        self, s: Session, address: str, hashed: str, roles: frozenset[Role], actor: Actor,
        ip: str | None = None,
    ) -> UserRow:  # fmt: skip
        digest = self._deps.digests.digest(Purpose.EMAIL, address)
        if s.scalar(select(UserRow.id).where(UserRow.email_digest == digest)) is not None:
            raise EmailTaken("a user with this email address exists already")
        now, user_id = self._deps.clock.now(), new_id()
        key, key_row = self._deps.sealer.new_key("user", now)
        s.add(DataKeyRow(**key_row))
        row = UserRow(
            id=user_id, email_digest=digest, data_key_id=key.id, status=ACTIVE,
            email=self._deps.sealer.seal(key, address.encode(), _aad(user_id, "email")),
            password_hash=hashed, failed_logins=0, lockouts=0, locked_until=None,
            created_at=now, updated_at=now, last_login_at=None,
        )  # fmt: skip
        s.add(row)
        s.flush()
        s.add_all(UserRoleRow(user_id=user_id, role=r.value) for r in sorted(roles))
        data = {"roles": sorted(r.value for r in roles)}
        event = AuditEvent(AuditTag.IDENTITY_USER_CREATED, actor, "user", user_id, data=data, ip=ip)
        self._deps.audit.record(s, event)
        return row

    def _info(self, s: Session, row: UserRow) -> UserInfo:
        roles = _role_names(s, row.id)
        totp = s.get(TotpRow, row.id)
        return UserInfo(
            row.id, self.email_of(row), row.status, roles,
            totp is not None and totp.confirmed_at is not None,
            row.created_at, row.last_login_at, row.locked_until,
        )  # fmt: skip


def user_aad(user_id: str, field: str) -> bytes:
    """Associated data binding a sealed user field to its row and column."""
    return f"user:{user_id}:{field}".encode()


_aad = user_aad


def _event(tag: AuditTag, actor: Actor, user_id: str, **data: Any) -> AuditEvent:
    return AuditEvent(tag, actor, "user", user_id, data=data)


def _role_names(s: Session, user_id: str) -> list[str]:
    return sorted(s.scalars(select(UserRoleRow.role).where(UserRoleRow.user_id == user_id)))


def _locked(s: Session, user_id: str) -> UserRow:
    row = s.get(UserRow, user_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return row


def _keep_an_admin(s: Session, row: UserRow, *, remove_admin: bool) -> None:
    """Refuse a change that would leave no active administrator (and so nobody able
    to manage users): the last one must name a successor first."""
    if not remove_admin or row.status != ACTIVE:
        return
    admins = (
        select(func.count())
        .select_from(UserRoleRow)
        .join(UserRow, UserRow.id == UserRoleRow.user_id)
        .where(UserRoleRow.role == Role.ADMIN.value, UserRow.status == ACTIVE)
    )
    is_admin = s.get(UserRoleRow, (row.id, Role.ADMIN.value)) is not None
    if is_admin and (s.scalar(admins) or 0) <= 1:
        raise Conflict("this is the last active administrator; make another one first")


def _unused_setup_tokens() -> Any:
    return update(OneTimeTokenRow).where(
        OneTimeTokenRow.purpose == "setup",
        OneTimeTokenRow.used_at.is_(None),
        OneTimeTokenRow.revoked_at.is_(None),
    )


def _unused_setup(digest: str, now: datetime) -> Any:
    return (
        select(OneTimeTokenRow)
        .where(OneTimeTokenRow.digest == digest, OneTimeTokenRow.purpose == "setup")
        .where(OneTimeTokenRow.used_at.is_(None), OneTimeTokenRow.revoked_at.is_(None))
        .where(OneTimeTokenRow.expires_at > now)
        .with_for_update()
    )
