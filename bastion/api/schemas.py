"""Request and response bodies of the API, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ApplyRequest(BaseModel):
    source: str = Field(description="The definition as YAML or JSON text", max_length=1_048_576)
    filename: str = Field(default="<api>", max_length=200)


class ChangeRead(BaseModel):
    op: str
    path: str


class ApplyRead(BaseModel):
    name: str
    version: int
    outcome: str
    changes: list[ChangeRead]


class AutomationRead(BaseModel):
    id: str
    name: str
    owner: str
    sensitivity: str
    trigger: str
    enabled: bool
    version: int
    updated_at: datetime


class AutomationDetail(AutomationRead):
    definition: dict[str, Any]


class VersionRead(BaseModel):
    version: int
    digest: str
    created_at: datetime
    created_by: str


class RunRequest(BaseModel):
    input: Any = None
    wait: bool = False
    timeout: float = Field(default=30.0, gt=0, le=300)


class ExecutionRead(BaseModel):
    id: str
    automation_id: str
    version: int
    state: str
    trigger: str
    actor: str
    error_code: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StepRead(BaseModel):
    step_id: str
    position: int
    attempt: int
    state: str
    started_at: datetime
    finished_at: datetime
    duration_ms: float
    output: Any
    logs: Any
    error_code: str | None
    error: str | None


class ExecutionDetail(ExecutionRead):
    automation: str
    input: Any
    output: Any
    error: str | None
    steps: list[StepRead]


class RunRead(BaseModel):
    execution_id: str
    state: str
    output: Any = None
    error_code: str | None = None


class AuditEventRead(BaseModel):
    seq: int
    id: str
    occurred_at: datetime
    tag: str
    actor_kind: str
    actor_id: str | None
    actor_name: str | None
    subject_kind: str | None
    subject_id: str | None
    automation_id: str | None
    outcome: str
    correlation_id: str | None
    data: dict[str, Any]
    hash: str


class VerifyRead(BaseModel):
    ok: bool
    checked: int
    last_seq: int
    broken_at: int | None = None
    broken_event: str | None = None
    reason: str | None = None
