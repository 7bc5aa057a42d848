"""Executions opened for reading: sealed payloads decrypted into plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion import codec
from bastion.engine.models import ExecutionRow, StepRunRow
from bastion.engine.run import execution_aad
from bastion.store.datakeys import Sealer


@dataclass(frozen=True)
class ExecutionView:
    row: ExecutionRow
    automation: str
    input: Any
    output: Any
    error: str | None
    steps: list[dict[str, Any]]


def view(
    sealer: Sealer, row: ExecutionRow, automation: str, steps: list[StepRunRow]
) -> ExecutionView:
    def opened(sealed: str | None, *parts: object) -> Any:
        if sealed is None:
            return None
        return codec.loads(sealer.open(sealed, execution_aad(row.id, *parts)))

    return ExecutionView(
        row=row,
        automation=automation,
        input=opened(row.input, "input"),
        output=opened(row.output, "output"),
        error=opened(row.error, "error"),
        steps=[_step(s, opened) for s in steps],
    )


def _step(step: StepRunRow, opened: Any) -> dict[str, Any]:
    parts = ("step", step.step_id, step.attempt)
    duration = (step.finished_at - step.started_at).total_seconds() * 1000
    return {
        "step_id": step.step_id,
        "position": step.position,
        "attempt": step.attempt,
        "state": step.state,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration_ms": round(duration, 3),
        "output": opened(step.output, *parts, "output"),
        "logs": opened(step.logs, *parts, "logs"),
        "error_code": step.error_code,
        "error": opened(step.error, *parts, "error"),
    }
