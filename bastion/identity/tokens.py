"""API tokens: ``bst_<lookup>_<secret>``.

The product prefix makes leaked tokens easy to find by secret scanners; the
lookup part finds the row without a scan; the secret part is stored only as
HMAC-SHA256 under a pepper held in the vault of data keys (``v1:<key id>:<hex>``),
so a database dump alone cannot be used to forge or recover a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditLog, AuditTag
from bastion.authz import Permission, Principal
from bastion.clock import Clock
from bastion.crypto import constant_time_equal, keyed_digest, random_hex, random_token
from bastion.errors import Invalid, NotFound, Unauthenticated
from bastion.identity.models import ApiTokenRow
from bastion.ids import new_id
from bastion.store.datakeys import Sealer
from bastion.store.db import Database

PREFIX = "bst_"
PEPPER = "pepper:api-tokens"
_SHAPE = re.compile(r"^bst_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedToken:
    id: str
    name: str
    token: str  # shown once, never stored
    scopes: list[str]
    expires_at: datetime | None


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class TokenService:
    def __init__(self, db: Database, sealer: Sealer, audit: AuditLog, clock: Clock) -> None:
        self._db, self._sealer, self._audit, self._clock = db, sealer, audit, clock

    def create(
        self, name: str, scopes: frozenset[Permission], actor: Actor, *, ttl: timedelta | None
    ) -> CreatedToken:
        if not name.strip() or len(name) > 100:
            raise Invalid("a token needs a name of 1 to 100 characters", code="invalid_name")
        now = self._clock.now()
        lookup, secret = random_hex(8), random_token(32)
        expires = now + ttl if ttl is not None else None
        names = sorted(p.value for p in scopes)
        row = ApiTokenRow(
            id=new_id(), lookup=lookup, digest=self._digest(secret), name=name,
            scopes=codec.dumps_str(names), created_by=f"{actor.kind}:{actor.name or '-'}",
            created_at=now, expires_at=expires, last_used_at=None, revoked_at=None,
        )  # fmt: skip
        with self._db.transaction() as session:
            session.add(row)
            self._audit.record(
                session, _event(AuditTag.TOKEN_CREATED, actor, row, {"scopes": names})
            )
        return CreatedToken(row.id, name, f"{PREFIX}{lookup}_{secret}", names, expires)

    def authenticate(self, presented: str) -> Principal:
        """The principal a token stands for. Raises InvalidToken, with one message
        for every failure so a caller learns nothing about which part was wrong."""
        match = _SHAPE.match(presented.strip())
        if match is None:
            raise InvalidToken("invalid or expired API token")
        with self._db.reader() as session:
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.lookup == match.group(1)))
        now = self._clock.now()
        if row is None or not self._matches(row.digest, match.group(2)) or not _live(row, now):
            raise InvalidToken("invalid or expired API token")
        self._touch(row, now)
        known = {p.value for p in Permission}
        scopes = frozenset(Permission(s) for s in codec.loads(row.scopes) if s in known)
        return Principal("token", row.id, row.name, scopes)

    def revoke(self, token_id: str, actor: Actor) -> None:
        with self._db.transaction() as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                raise NotFound(f"no token {token_id}")
            row.revoked_at = self._clock.now()
            self._audit.record(session, _event(AuditTag.TOKEN_REVOKED, actor, row, {}))

    def list(self) -> list[ApiTokenRow]:
        with self._db.reader() as session:
            return list(session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at)))

    def _digest(self, secret: str) -> str:
        pepper = self._sealer.shared_key(PEPPER, self._clock.now())
        return f"v1:{pepper.id}:{keyed_digest(pepper.key, secret.encode())}"

    def _matches(self, stored: str, secret: str) -> bool:
        version, key_id, _ = stored.split(":", 2)
        pepper = self._sealer.key(key_id)
        return constant_time_equal(
            stored, f"{version}:{key_id}:{keyed_digest(pepper.key, secret.encode())}"
        )

    def _touch(self, row: ApiTokenRow, now: datetime) -> None:
        # Recording every use would turn each API read into a write; once a minute is
        # precise enough for access reviews.
        if row.last_used_at is not None and now - row.last_used_at < LAST_USED_EVERY:
            return
        with self._db.transaction() as session:
            session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == row.id).values(last_used_at=now)
            )


def _live(row: ApiTokenRow, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _event(tag: AuditTag, actor: Actor, row: ApiTokenRow, data: dict[str, object]) -> AuditEvent:
    return AuditEvent(
        tag, actor, subject_kind="token", subject_id=row.id,
        data={"name": row.name, **data},
    )  # fmt: skip
