"""The in-memory state of one execution while this process works on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.audit import Actor
from bastion.crypto import DataKey
from bastion.engine.machine import State
from bastion.engine.plans import Plan


@dataclass
class Run:
    id: str
    plan: Plan
    key: DataKey
    state: State
    trigger_kind: str
    created_at: datetime
    deadline_at: datetime
    context: dict[str, Any]
    next_step: int = 0
    correlation_id: str | None = None
    stop_reason: State | None = None  # set before cancelling the task: cancelled or killed
    stop_actor: Actor | None = None
    output: Any = None
    error_code: str | None = None
    error_message: str | None = None
    attempts_done: dict[str, int] = field(default_factory=dict)  # step id -> last attempt number

    @property
    def service_actor(self) -> Actor:
        """Executions act as their automation's identity, never as a human (SA-1)."""
        return Actor("automation", self.plan.automation_id, self.plan.name)

    def aad(self, *parts: object) -> bytes:
        return execution_aad(self.id, *parts)


def execution_aad(execution_id: str, *parts: object) -> bytes:
    """What binds a sealed execution value to its place (input, output, a step's
    output, logs or error): shared by the runner that seals and the views that open."""
    return ":".join(["execution", execution_id, *map(str, parts)]).encode()
