from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from bastion.api.auth import actor_of, require, services
from bastion.api.schemas import ExecutionDetail, ExecutionRead, RunRead, StepRead
from bastion.authz import Permission, Principal
from bastion.engine import ExecutionRow, State

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])
Reader = Annotated[Principal, Depends(require(Permission.ENGINE_EXECUTION_READ))]
Canceller = Annotated[Principal, Depends(require(Permission.ENGINE_EXECUTION_CANCEL))]


def _read(row: ExecutionRow) -> ExecutionRead:
    return ExecutionRead(
        id=row.id, automation_id=row.automation_id, version=row.version, state=row.state,
        trigger=row.trigger_kind, actor=row.actor, error_code=row.error_code,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
    )  # fmt: skip


@router.get("", response_model=list[ExecutionRead])
def list_executions(
    request: Request,
    _p: Reader,
    automation: str | None = None,
    state: State | None = None,
    limit: int = 50,
) -> list[ExecutionRead]:
    svc = services(request)
    automation_id = svc.automations.get(automation).id if automation else None
    rows = svc.engine.list(
        automation_id=automation_id, state=state.value if state else None, limit=min(limit, 500)
    )
    return [_read(r) for r in rows]


@router.get("/{execution_id}", response_model=ExecutionDetail)
def show(request: Request, execution_id: str, _p: Reader) -> ExecutionDetail:
    v = services(request).engine.get(execution_id)
    return ExecutionDetail(
        **_read(v.row).model_dump(), automation=v.automation, input=v.input, output=v.output,
        error=v.error, steps=[StepRead(**s) for s in v.steps],
    )  # fmt: skip


@router.post("/{execution_id}/cancel", response_model=RunRead)
async def cancel(request: Request, execution_id: str, principal: Canceller) -> RunRead:
    state = await services(request).engine.cancel(execution_id, actor_of(principal))
    return RunRead(execution_id=execution_id, state=state.value)
