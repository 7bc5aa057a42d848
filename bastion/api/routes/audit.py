from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bastion import codec
from bastion.api.auth import require, services
from bastion.api.schemas import AuditEventRead, VerifyRead
from bastion.authz import Permission, Principal

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require(Permission.AUDIT_EVENT_READ))]


@router.get("", response_model=list[AuditEventRead])
def list_events(
    request: Request,
    _p: Reader,
    tag: str | None = None,
    automation: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[AuditEventRead]:
    svc = services(request)
    automation_id = svc.automations.get(automation).id if automation else None
    rows = svc.audit.list(tag=tag, automation_id=automation_id, after=after, limit=min(limit, 1000))
    return [
        AuditEventRead.model_validate(
            {**{c: getattr(r, c) for c in AuditEventRead.model_fields if c != "data"},
             "data": codec.loads(r.data)}
        )
        for r in rows
    ]  # fmt: skip


@router.get("/verify", response_model=VerifyRead)
def verify(request: Request, _p: Reader) -> VerifyRead:
    result = services(request).audit.verify()
    breach = result.breach
    return VerifyRead(
        ok=result.ok, checked=result.checked, last_seq=result.last_seq,
        broken_at=breach.seq if breach else None, broken_event=breach.event_id if breach else None,
        reason=breach.reason if breach else None,
    )  # fmt: skip
