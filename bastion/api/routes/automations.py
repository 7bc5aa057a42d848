from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from bastion.api.auth import actor_of, require, services
from bastion.api.context import current_correlation_id
from bastion.api.schemas import (
    ApplyRead,
    ApplyRequest,
    AutomationDetail,
    AutomationRead,
    ChangeRead,
    RunRead,
    RunRequest,
    VersionRead,
)
from bastion.authz import Permission, Principal
from bastion.automations import AutomationRow
from bastion.automations.loader import load_definition

router = APIRouter(prefix="/api/v1/automations", tags=["automations"])
Reader = Annotated[Principal, Depends(require(Permission.AUTOMATIONS_AUTOMATION_READ))]
Writer = Annotated[Principal, Depends(require(Permission.AUTOMATIONS_AUTOMATION_WRITE))]
Runner = Annotated[Principal, Depends(require(Permission.ENGINE_EXECUTION_RUN))]


def _read(row: AutomationRow) -> AutomationRead:
    return AutomationRead(
        id=row.id, name=row.name, owner=row.owner, sensitivity=row.sensitivity,
        trigger=row.trigger_kind, enabled=row.enabled, version=row.current_version,
        updated_at=row.updated_at,
    )  # fmt: skip


@router.get("", response_model=list[AutomationRead])
def list_automations(request: Request, _p: Reader) -> list[AutomationRead]:
    return [_read(row) for row in services(request).automations.all()]


@router.post("", response_model=ApplyRead)
def apply(request: Request, body: ApplyRequest, principal: Writer) -> ApplyRead:
    defn = load_definition(body.source, body.filename)
    result = services(request).automations.apply(defn, actor_of(principal))
    changes = [ChangeRead(op=c.op, path=c.path) for c in result.changes]
    return ApplyRead(
        name=result.name, version=result.version, outcome=result.outcome, changes=changes
    )


@router.get("/{name}", response_model=AutomationDetail)
def show(request: Request, name: str, _p: Reader, version: int | None = None) -> AutomationDetail:
    svc = services(request).automations
    row = svc.get(name)
    document = svc.definition(name, version).document()
    return AutomationDetail(**_read(row).model_dump(), definition=document)


@router.get("/{name}/versions", response_model=list[VersionRead])
def versions(request: Request, name: str, _p: Reader) -> list[VersionRead]:
    rows = services(request).automations.versions(name)
    return [VersionRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/{name}/diff")
def diff(request: Request, name: str, _p: Reader, old: int, new: int) -> list[dict[str, Any]]:
    return [c.as_dict() for c in services(request).automations.diff_versions(name, old, new)]


@router.post("/{name}/enable", response_model=AutomationRead)
def enable(request: Request, name: str, principal: Writer) -> AutomationRead:
    svc = services(request).automations
    svc.set_enabled(name, True, actor_of(principal))
    return _read(svc.get(name))


@router.post("/{name}/disable", response_model=AutomationRead)
def disable(request: Request, name: str, principal: Writer) -> AutomationRead:
    svc = services(request).automations
    svc.set_enabled(name, False, actor_of(principal))
    return _read(svc.get(name))


@router.post("/{name}/executions", response_model=RunRead, status_code=202)
async def run(request: Request, name: str, body: RunRequest, principal: Runner) -> Any:
    svc = services(request)
    started = await svc.manual.run(
        name, body.input, actor_of(principal), correlation_id=current_correlation_id()
    )
    run_ = (await svc.engine.wait(started, body.timeout) if body.wait else None) or started
    return RunRead(
        execution_id=run_.id, state=run_.state.value, error_code=run_.error_code,
        output=run_.output if run_.state.value == "succeeded" else None,
    )  # fmt: skip
