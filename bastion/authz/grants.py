"""Grants on sensitive and critical automations, and authorization at the query.

``restrict`` turns any SELECT over the ``automations`` table into one that
returns only the rows a principal may see, in SQL: lists, exports and reports
built on it cannot leak a row by forgetting a check (STYLE habit 7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Join,
    Select,
    Table,
    column,
    delete,
    exists,
    false,
    or_,
    select,
    table,
)

from bastion.audit import Actor, AuditEvent, AuditLog, AuditTag
from bastion.authz.models import AutomationGrantRow
from bastion.authz.permissions import AUTH_METHODS, Permission
from bastion.authz.principal import OPEN_SENSITIVITIES, Principal
from bastion.clock import Clock
from bastion.errors import Conflict, Invalid, NotFound
from bastion.ids import new_id
from bastion.store.base import table_of
from bastion.store.db import Database

T = TypeVar("T", bound=tuple[Any, ...])
GRANTEE_KINDS = frozenset({"user", "token"})
# The automations table belongs to a higher layer: named here, never imported.
_AUTOMATIONS = table("automations", column("id"))


def restrict(
    stmt: Select[T],
    principal: Principal,
    permission: Permission = Permission.AUTOMATIONS_AUTOMATION_READ,
) -> Select[T]:
    """``stmt`` narrowed to the automations ``principal`` may exercise ``permission`` on.

    Without the permission (or through a credential that may not use it) nothing is
    returned; otherwise low and normal automations, plus sensitive and critical ones
    granted to the principal. Raises ValueError if ``stmt`` does not select from the
    ``automations`` table (a programming error, never a caller's).
    """
    automations = _automations_table(stmt)
    if permission not in principal.permissions or permission not in AUTH_METHODS.get(
        principal.kind, frozenset()
    ):
        return stmt.where(false())
    visible = automations.c.sensitivity.in_(OPEN_SENSITIVITIES)
    return stmt.where(or_(visible, _granted(automations, principal)))


def _granted(automations: Table, principal: Principal) -> ColumnElement[bool]:
    grants = table_of(AutomationGrantRow)
    return exists().where(
        grants.c.automation_id == automations.c.id,
        grants.c.principal_kind == principal.kind,
        grants.c.principal_id == principal.id,
    )


def _automations_table(stmt: Select[Any]) -> Table:
    for candidate in _tables(stmt.get_final_froms()):
        if candidate.name == "automations":
            return candidate
    raise ValueError("restrict() needs a query that selects from the automations table")


def _tables(froms: Any) -> Iterator[Table]:
    for item in froms:
        if isinstance(item, Table):
            yield item
        elif isinstance(item, Join):
            yield from _tables([item.left, item.right])


class GrantService:
    """Explicit grants of sensitive and critical automations to principals."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock) -> None:
        self._db, self._audit, self._clock = db, audit, clock

    def grant(self, kind: str, principal_id: str, automation_id: str, actor: Actor) -> str:
        """Grant; returns the grant id. Raises Invalid for an unknown principal kind,
        NotFound for an unknown automation, Conflict if the grant exists already."""
        if kind not in GRANTEE_KINDS:
            raise Invalid(f"grants are for {', '.join(sorted(GRANTEE_KINDS))}", code="invalid")
        row = AutomationGrantRow(
            id=new_id(), principal_kind=kind, principal_id=principal_id,
            automation_id=automation_id, created_at=self._clock.now(),
            created_by=f"{actor.kind}:{actor.id or actor.name or '-'}",
        )  # fmt: skip
        with self._db.transaction() as session:
            known = select(_AUTOMATIONS.c.id).where(_AUTOMATIONS.c.id == automation_id)
            if session.scalar(known) is None:
                raise NotFound(f"no automation {automation_id}")
            if session.scalar(select(AutomationGrantRow.id).where(*_same(row))) is not None:
                raise Conflict("that grant exists already")
            session.add(row)
            self._audit.record(session, _event(AuditTag.AUTHZ_GRANT_CREATED, actor, row))
        return row.id

    def revoke(self, kind: str, principal_id: str, automation_id: str, actor: Actor) -> None:
        """Remove a grant. Raises NotFound if there is none."""
        probe = AutomationGrantRow(
            principal_kind=kind, principal_id=principal_id, automation_id=automation_id
        )
        with self._db.transaction() as session:
            row = session.scalar(select(AutomationGrantRow).where(*_same(probe)))
            if row is None:
                raise NotFound("no such grant")
            session.execute(delete(AutomationGrantRow).where(AutomationGrantRow.id == row.id))
            self._audit.record(session, _event(AuditTag.AUTHZ_GRANT_REVOKED, actor, row))

    def granted(self, kind: str, principal_id: str) -> frozenset[str]:
        """Ids of the automations explicitly granted to the principal."""
        stmt = select(AutomationGrantRow.automation_id).where(
            AutomationGrantRow.principal_kind == kind,
            AutomationGrantRow.principal_id == principal_id,
        )
        with self._db.reader() as session:
            return frozenset(session.scalars(stmt))


def _same(row: AutomationGrantRow) -> list[ColumnElement[bool]]:
    return [
        AutomationGrantRow.principal_kind == row.principal_kind,
        AutomationGrantRow.principal_id == row.principal_id,
        AutomationGrantRow.automation_id == row.automation_id,
    ]


def _event(tag: AuditTag, actor: Actor, row: AutomationGrantRow) -> AuditEvent:
    return AuditEvent(
        tag, actor, subject_kind=row.principal_kind, subject_id=row.principal_id,
        automation_id=row.automation_id, data={"grant_id": row.id},
    )  # fmt: skip
