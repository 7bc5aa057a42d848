"""The one writer of execution state.

Every state change goes through ``move``: it checks the transition table, puts
the row update and its audit event into the same ``Changes`` (so they commit
together), and updates the in-memory run.
"""

from __future__ import annotations

from typing import Any

from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.engine.machine import State, allowed
from bastion.engine.models import ExecutionRow
from bastion.engine.run import Run
from bastion.errors import Conflict
from bastion.store.base import table_of
from bastion.store.writer import Changes

TABLE = table_of(ExecutionRow)

TAGS = {
    State.queued: AuditTag.EXECUTION_QUEUED,
    State.running: AuditTag.EXECUTION_RUNNING,
    State.waiting: AuditTag.EXECUTION_WAITING,
    State.succeeded: AuditTag.EXECUTION_SUCCEEDED,
    State.failed: AuditTag.EXECUTION_FAILED,
    State.cancelled: AuditTag.EXECUTION_CANCELLED,
    State.killed: AuditTag.EXECUTION_KILLED,
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def move(
    run: Run,
    target: State,
    changes: Changes,
    *,
    actor: Actor | None = None,
    values: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Changes:
    """Move ``run`` to ``target``, adding the row update and audit event to ``changes``."""
    if not allowed(run.state, target):
        raise IllegalTransition(f"execution {run.id} cannot go from {run.state} to {target}")
    source = run.state
    run.state = target
    changes.update(TABLE, run.id, {"state": target.value, **(values or {})})
    tag = AuditTag.EXECUTION_RESUMED if source == target else TAGS[target]
    changes.extra.append(event(run, tag, actor, {"from": source.value, **(data or {})}))
    return changes


def event(run: Run, tag: AuditTag, actor: Actor | None, data: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        tag,
        actor or run.service_actor,
        subject_kind="execution",
        subject_id=run.id,
        automation_id=run.plan.automation_id,
        outcome="failure" if tag == AuditTag.EXECUTION_FAILED else "success",
        data={"automation": run.plan.name, "version": run.plan.version, **data},
        correlation_id=run.correlation_id,
    )
