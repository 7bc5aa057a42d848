"""The engine's front: start, wait for, cancel, recover, wake and read executions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import codec
from bastion.audit import Actor, AuditTag
from bastion.automations import AutomationService, Current
from bastion.clock import Clock
from bastion.egress import OutboundClient
from bastion.engine.dispatcher import InProcessDispatcher
from bastion.engine.machine import TERMINAL, State
from bastion.engine.masking import masked
from bastion.engine.models import ExecutionRow, StepRunRow
from bastion.engine.plans import Plan, compile_plan
from bastion.engine.run import Run
from bastion.engine.runner import Runner
from bastion.engine.transitions import TABLE, event, move
from bastion.engine.views import ExecutionView, view
from bastion.errors import Conflict, NotFound
from bastion.ids import new_id
from bastion.settings import Settings
from bastion.store.base import table_of
from bastion.store.datakeys import DataKeyRow, Sealer
from bastion.store.db import Database
from bastion.store.writer import Changes, CommitWriter
from bastion.vault import VaultService

DATA_KEYS = table_of(DataKeyRow)


class ExecutionNotFound(NotFound):
    code = "execution_not_found"

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"no execution {execution_id!r}")


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        writer: CommitWriter,
        sealer: Sealer,
        automations: AutomationService,
        clock: Clock,
        settings: Settings,
        vault: VaultService | None = None,
    ) -> None:
        self._db, self._writer, self._sealer = db, writer, sealer
        self._automations, self._clock, self._settings = automations, clock, settings
        self._vault = vault
        self._plans: dict[tuple[str, int], Plan] = {}
        self._waiters: dict[str, asyncio.Future[Run]] = {}
        self._http: httpx.AsyncClient | None = None
        self._dispatcher: InProcessDispatcher | None = None

    # -- lifecycle ----------------------------------------------------------

    async def start(self, *, recover: bool = True) -> None:
        # Every step's outbound HTTP goes through the egress guard (NET-1, ENC-1).
        self._http = OutboundClient(self._settings)
        runner = Runner(self._writer, self._clock, self._http, self._finished, self._vault)
        workers = self._settings.workers
        self._dispatcher = InProcessDispatcher(
            runner.run, runner.stopped, workers=workers, max_pending=workers * 64
        )
        if recover:
            await self.recover()

    async def stop(self) -> None:
        if self._dispatcher is not None:
            await self._dispatcher.stop()
        if self._http is not None:
            await self._http.aclose()

    @property
    def dispatcher(self) -> InProcessDispatcher:
        if self._dispatcher is None:
            raise RuntimeError("Engine.start() was not awaited")
        return self._dispatcher

    # -- starting -----------------------------------------------------------

    def plan(self, current: Current) -> Plan:
        key = (current.id, current.version)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = compile_plan(current, self._settings)
        return plan

    async def submit(
        self,
        current: Current,
        payload: Any,
        *,
        trigger_kind: str,
        actor: Actor,
        dedupe_key: str | None = None,
        correlation_id: str | None = None,
        also: Changes | None = None,
    ) -> Run:
        """Record a queued execution (committed before this returns) and dispatch it."""
        if not current.enabled:
            raise Conflict(f"automation {current.name!r} is disabled", code="automation_disabled")
        self.dispatcher.check_capacity()
        plan = self.plan(current)
        now = self._clock.now()
        key, key_row = self._sealer.new_key("execution", now)
        run = Run(
            id=new_id(), plan=plan, key=key, state=State.queued, trigger_kind=trigger_kind,
            created_at=now, deadline_at=now + timedelta(seconds=plan.deadline),
            context=_context(plan, trigger_kind, payload, now), correlation_id=correlation_id,
        )  # fmt: skip
        run.context["execution"]["id"] = run.id
        changes = also or Changes()
        changes.insert(DATA_KEYS, key_row)
        changes.insert(TABLE, self._queued_row(run, payload, actor, dedupe_key))
        changes.extra.append(
            event(run, AuditTag.EXECUTION_QUEUED, actor, {"trigger": trigger_kind})
        )
        await self._writer.submit(changes)
        self.dispatcher.dispatch(run)
        return run

    def _queued_row(
        self, run: Run, payload: Any, actor: Actor, dedupe_key: str | None
    ) -> dict[str, Any]:
        return {
            "id": run.id, "automation_id": run.plan.automation_id, "version": run.plan.version,
            "state": State.queued.value, "trigger_kind": run.trigger_kind,
            "actor": f"{actor.kind}:{actor.name or actor.id or '-'}", "data_key_id": run.key.id,
            "input": self._sealer.seal(run.key, codec.dumps(payload), run.aad("input")),
            "output": None, "error_code": None, "error": None, "next_step": 0,
            "dedupe_key": dedupe_key, "correlation_id": run.correlation_id,
            "created_at": run.created_at, "started_at": None, "finished_at": None,
            "deadline_at": run.deadline_at, "wake_at": None,
        }  # fmt: skip

    async def wait(self, run: Run, timeout: float) -> Run | None:
        """Wait until ``run`` ends; None if it is still going after ``timeout`` seconds."""
        if run.state in TERMINAL:
            return run
        future = self._waiters.get(run.id)
        if future is None:
            future = self._waiters[run.id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None

    def _finished(self, run: Run) -> None:
        # The execution's data key stays wrapped in the database; its clear copy
        # leaves memory as soon as nothing here needs it.
        self._sealer.forget(run.key.id)
        future = self._waiters.pop(run.id, None)
        if future is not None and not future.done():
            future.set_result(run)

    # -- stopping -----------------------------------------------------------

    async def cancel(self, execution_id: str, actor: Actor, *, kill: bool = False) -> State:
        """Stop an execution. Running ones are interrupted; queued or waiting ones end at once."""
        target = State.killed if kill else State.cancelled
        task_run = self._live(execution_id)
        if task_run is not None:
            task_run.stop_reason, task_run.stop_actor = target, actor
            self.dispatcher.cancel(execution_id)
            return target
        run = await asyncio.to_thread(self._load, execution_id)
        if run.state in TERMINAL:
            raise Conflict(f"execution {execution_id} already {run.state}", code="already_finished")
        run.error_code, run.error_message = target.value, f"{target.value} by {actor.kind}"
        values = {"finished_at": self._clock.now(), "error_code": target.value}
        await self._writer.submit(move(run, target, Changes(), actor=actor, values=values))
        self._finished(run)
        return target

    def _live(self, execution_id: str) -> Run | None:
        return self.dispatcher.runs.get(execution_id)

    # -- recovery and timers -------------------------------------------------

    async def recover(self) -> int:
        """Dispatch every execution left queued or running by a previous process."""
        ids = await asyncio.to_thread(self._ids_in, (State.queued, State.running), None)
        for execution_id in ids:
            self.dispatcher.dispatch(await asyncio.to_thread(self._load, execution_id))
        return len(ids)

    async def wake_due(self) -> int:
        """Resume waiting executions whose timer has fired."""
        ids = await asyncio.to_thread(self._ids_in, (State.waiting,), self._clock.now())
        woken = 0
        for execution_id in ids:
            if execution_id not in self.dispatcher.tasks:
                self.dispatcher.dispatch(await asyncio.to_thread(self._load, execution_id))
                woken += 1
        return woken

    def _ids_in(self, states: tuple[State, ...], due: datetime | None) -> list[str]:
        stmt = select(ExecutionRow.id).where(ExecutionRow.state.in_([s.value for s in states]))
        if due is not None:
            stmt = stmt.where(ExecutionRow.wake_at <= due)
        with self._db.reader() as session:
            return list(session.scalars(stmt.order_by(ExecutionRow.created_at)))

    def _load(self, execution_id: str) -> Run:
        """Rebuild a run from its rows: context from the steps that finished."""
        row, steps = self._rows(execution_id)
        current = self._automations.at_version(row.automation_id, row.version)
        plan = self.plan(current)
        key = self._sealer.key(row.data_key_id)
        run = Run(
            id=row.id, plan=plan, key=key, state=State(row.state), trigger_kind=row.trigger_kind,
            created_at=row.created_at, deadline_at=row.deadline_at, context={},
            next_step=row.next_step, correlation_id=row.correlation_id,
        )  # fmt: skip
        payload = codec.loads(self._sealer.open(row.input, run.aad("input"))) if row.input else None
        run.context = _context(plan, row.trigger_kind, payload, row.created_at)
        run.context["execution"]["id"] = run.id
        for step in steps:
            done = run.attempts_done.get(step.step_id, 0)
            run.attempts_done[step.step_id] = max(step.attempt, done)
            if step.state == "succeeded" and step.output is not None:
                aad = run.aad("step", step.step_id, step.attempt, "output")
                run.context["steps"][step.step_id] = codec.loads(
                    self._sealer.open(step.output, aad)
                )
        return run

    # -- reads --------------------------------------------------------------

    def get(self, execution_id: str) -> ExecutionView:
        row, steps = self._rows(execution_id)
        name = self._automations.name_of(row.automation_id)
        opened = view(self._sealer, row, name, steps)
        # Masked again on the way out: an input can hold a vault value, and a value
        # stored before it entered the vault was not masked when it was written.
        return masked(opened, self._vault.masker) if self._vault is not None else opened

    def _rows(self, execution_id: str) -> tuple[ExecutionRow, list[StepRunRow]]:
        """The execution and every step attempt, in timeline order."""
        with self._db.reader() as session:
            row = _get_row(session, execution_id)
            steps = session.scalars(
                select(StepRunRow)
                .where(StepRunRow.execution_id == row.id)
                .order_by(StepRunRow.position, StepRunRow.attempt)
            ).all()
        return row, list(steps)

    def list(
        self, *, automation_id: str | None = None, state: str | None = None, limit: int = 50
    ) -> list[ExecutionRow]:
        stmt = select(ExecutionRow)
        if automation_id:
            stmt = stmt.where(ExecutionRow.automation_id == automation_id)
        if state:
            stmt = stmt.where(ExecutionRow.state == state)
        with self._db.reader() as session:
            return list(session.scalars(stmt.order_by(ExecutionRow.created_at.desc()).limit(limit)))


def _get_row(session: Session, execution_id: str) -> ExecutionRow:
    row = session.get(ExecutionRow, execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    return row


def _context(plan: Plan, trigger_kind: str, payload: Any, now: datetime) -> dict[str, Any]:
    return {
        "trigger": {"kind": trigger_kind, "body": payload},
        "steps": {},
        "execution": {
            "automation": plan.name,
            "version": plan.version,
            "started_at": now.isoformat(),
        },
    }
