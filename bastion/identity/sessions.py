"""Server-side sessions (AUTH-3).

A session id is 256 bits from the CSPRNG, handed to the browser once and stored
only as a keyed digest. A session ends when it has been idle too long, when it
reaches its absolute lifetime, when its person logs out or is logged out
everywhere, when they are disabled or their roles change, and when the sign-in
moves to a higher stage, which always issues a new id (no fixation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.authz import SELF_SERVICE, GrantService, Permission, Principal, Role, permissions_for
from bastion.crypto import random_token
from bastion.errors import NotFound
from bastion.identity.deps import IdentityDeps
from bastion.identity.digests import Purpose
from bastion.identity.errors import InvalidSession
from bastion.identity.models import SessionRow, UserRoleRow, UserRow
from bastion.ids import new_id

CHALLENGE, ENROLMENT, FULL = "challenge", "enrolment", "full"
MAX_PRESENTED = 128  # longer than any id we issue: refused before any work


@dataclass(frozen=True)
class NewSession:
    """A session just issued. ``token`` is its secret id, shown once (the cookie's
    value) and never stored; ``id`` names it in lists and audit events."""

    token: str
    id: str
    stage: str
    expires_at: datetime
    idle_timeout: timedelta


@dataclass(frozen=True)
class SessionInfo:
    id: str
    stage: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None


class SessionService:
    def __init__(self, deps: IdentityDeps, grants: GrantService) -> None:
        self._deps, self._grants = deps, grants
        s = deps.settings
        self.idle = timedelta(seconds=s.session_idle_seconds)
        self.absolute = timedelta(seconds=s.session_absolute_seconds)
        self.touch_every = timedelta(seconds=s.session_touch_seconds)
        self.challenge_life = timedelta(seconds=s.login_challenge_seconds)

    def validate(self, presented: str) -> Principal:
        """The principal a session id stands for. Raises InvalidSession, with one
        message, for an unknown, ended, expired or not-yet-authenticated id."""
        if not presented or len(presented) > MAX_PRESENTED:
            raise InvalidSession()
        digest = self._deps.digests.digest(Purpose.SESSION, presented)
        with self._deps.db.reader() as s:
            row = s.scalar(select(SessionRow).where(SessionRow.digest == digest))
            user = s.get(UserRow, row.user_id) if row is not None else None
            roles = _roles(s, row.user_id) if row is not None else frozenset()
        now = self._deps.clock.now()
        if row is None or user is None or row.ended_at is not None or row.stage == CHALLENGE:
            raise InvalidSession()
        reason = self._expired(row, now)
        if reason is not None or user.status != "active":
            self._expire(row, reason or "user_disabled", now)
            raise InvalidSession()
        self._touch(row, now)
        return self._principal(row, user, roles)

    def logout(self, presented: str) -> None:
        """End the caller's own session; an unknown or ended id is ignored."""
        if not presented or len(presented) > MAX_PRESENTED:
            return
        digest = self._deps.digests.digest(Purpose.SESSION, presented)
        with self._deps.db.transaction() as s:
            row = s.scalar(select(SessionRow).where(SessionRow.digest == digest))
            if row is not None and row.stage != CHALLENGE:
                actor = Actor("user", row.user_id)
                self.end(s, row.user_id, "logout", actor, session_id=row.id)

    def revoke(self, session_id: str, actor: Actor) -> None:
        """End one session. Raises NotFound if it does not exist or has ended."""
        with self._deps.db.transaction() as s:
            row = s.get(SessionRow, session_id)
            if row is None or not self.end(s, row.user_id, "revoked", actor, session_id=row.id):
                raise NotFound(f"no live session {session_id}")

    def revoke_all(self, user_id: str, actor: Actor) -> int:
        """Log a person out everywhere; returns how many sessions ended."""
        with self._deps.db.transaction() as s:
            return self.end(s, user_id, "revoked_all", actor)

    def list(self, user_id: str) -> list[SessionInfo]:
        """A person's live sessions (sign-in challenges are not sessions), oldest first."""
        now = self._deps.clock.now()
        stmt = (
            select(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.ended_at.is_(None))
            .where(SessionRow.stage != CHALLENGE)
            .order_by(SessionRow.created_at, SessionRow.id)
        )
        with self._deps.db.reader() as s:
            rows = [r for r in s.scalars(stmt) if self._expired(r, now) is None]
        return [
            SessionInfo(r.id, r.stage, r.created_at, r.last_seen_at, r.expires_at, r.ip)
            for r in rows
        ]

    # Used by the sign-in flow inside its own transactions.

    def issue(self, s: Session, user_id: str, stage: str, ip: str | None) -> NewSession:
        """Add a new session (or sign-in challenge) row to ``s``'s transaction."""
        now = self._deps.clock.now()
        token = random_token(32)
        purpose = Purpose.CHALLENGE if stage == CHALLENGE else Purpose.SESSION
        life = self.challenge_life if stage == CHALLENGE else self.absolute
        row = SessionRow(
            id=new_id(), digest=self._deps.digests.digest(purpose, token), user_id=user_id,
            stage=stage, created_at=now, last_seen_at=now, expires_at=now + life,
            ended_at=None, end_reason=None, failures=0, ip=ip,
        )  # fmt: skip
        s.add(row)
        if stage != CHALLENGE:
            actor = Actor("user", user_id)
            event = _event(AuditTag.IDENTITY_SESSION_CREATED, actor, row, stage, ip)
            self._deps.audit.record(s, event)
        return NewSession(token, row.id, stage, row.expires_at, self.idle)

    def find_challenge(self, s: Session, presented: str) -> SessionRow | None:
        """The live challenge row ``presented`` names, locked for update with its user
        row; else None."""
        if not presented or len(presented) > MAX_PRESENTED:
            return None
        digest = self._deps.digests.digest(Purpose.CHALLENGE, presented)
        owner = s.scalar(select(SessionRow.user_id).where(SessionRow.digest == digest))
        if owner is None:
            return None
        # Locks are always taken user first, then sessions (as disabling a user does),
        # so two transactions can never wait on each other in a circle.
        s.get_one(UserRow, owner, with_for_update=True)
        stmt = select(SessionRow).where(SessionRow.digest == digest).with_for_update()
        row = s.scalar(stmt)
        now = self._deps.clock.now()
        live = row is not None and row.ended_at is None and row.expires_at > now
        return row if live and row is not None and row.stage == CHALLENGE else None

    def close_challenge(self, row: SessionRow, reason: str) -> None:
        """End a (locked) challenge row: it has been answered, or refused."""
        row.ended_at, row.end_reason = self._deps.clock.now(), reason

    def end(
        self, s: Session, user_id: str, reason: str, actor: Actor, *, session_id: str | None = None
    ) -> int:
        """End one of ``user_id``'s sessions, or all of them (challenges too); audited.
        Returns how many ended."""
        stmt = (
            update(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.ended_at.is_(None))
            .values(ended_at=self._deps.clock.now(), end_reason=reason)
        )
        if session_id is not None:
            stmt = stmt.where(SessionRow.id == session_id)
        count = s.execute(stmt).rowcount  # type: ignore[attr-defined]
        if count:
            data = {"reason": reason, "sessions": count, "session_id": session_id}
            self._deps.audit.record(
                s, AuditEvent(AuditTag.IDENTITY_SESSION_REVOKED, actor, "user", user_id, data=data)
            )
        return int(count)

    def _expired(self, row: SessionRow, now: datetime) -> str | None:
        if now >= row.expires_at:
            return "absolute_timeout"
        if now >= row.last_seen_at + self.idle:
            return "idle_timeout"
        return None

    def _expire(self, row: SessionRow, reason: str, now: datetime) -> None:
        stmt = (
            update(SessionRow)
            .where(SessionRow.id == row.id, SessionRow.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        with self._deps.db.transaction() as s:
            if s.execute(stmt).rowcount:  # type: ignore[attr-defined]
                tag = AuditTag.IDENTITY_SESSION_EXPIRED
                self._deps.audit.record(s, _event(tag, Actor.system(), row, reason))

    def _touch(self, row: SessionRow, now: datetime) -> None:
        # Recording every request would make each read a write; the idle clock is
        # therefore at most ``touch_every`` behind, which only ever ends a session
        # early, never late.
        if now - row.last_seen_at < self.touch_every:
            return
        stmt = update(SessionRow).where(SessionRow.id == row.id).values(last_seen_at=now)
        with self._deps.db.transaction() as s:
            s.execute(stmt)

    def _principal(self, row: SessionRow, user: UserRow, roles: frozenset[Role]) -> Principal:
        if row.stage == ENROLMENT:
            held = frozenset({Permission.IDENTITY_MFA_ENROLL})
            return Principal("user", user.id, user.id, held, session_id=row.id)
        return Principal(
            "user", user.id, user.id, permissions_for(roles) | SELF_SERVICE,
            roles=frozenset(r.value for r in roles),
            grants=self._grants.granted("user", user.id), session_id=row.id,
        )  # fmt: skip


def _roles(s: Session, user_id: str) -> frozenset[Role]:
    names = s.scalars(select(UserRoleRow.role).where(UserRoleRow.user_id == user_id))
    known = {r.value: r for r in Role}
    return frozenset(known[n] for n in names if n in known)


def _event(
    tag: AuditTag, actor: Actor, row: SessionRow, detail: str, ip: str | None = None
) -> AuditEvent:
    data = {"session_id": row.id, "detail": detail}
    return AuditEvent(tag, actor, "user", row.user_id, data=data, ip=ip)
