"""Runs an execution step by step: the I/O shell around the plan.

Durability: a step's record (sealed output, logs) is committed before the next
step starts, so a crash loses at most the step in flight, which runs again on
recovery (steps with outside effects carry an idempotency key for that reason).
The last step's record commits together with the final state.

Credentials (SA-2, MIN-1): a step that declares credentials in its ``needs`` runs
only if its automation may lease every one of them (refused before the step does
anything, with ``credential_not_granted``), and ``ctx.lease`` hands out only those.
Everything stored (step outputs, logs and errors, the execution's output and
error) passes through the vault's masker first, together with the values leased
in this execution, so a secret never reaches a record, even sealed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bastion import codec
from bastion.clock import Clock, parse_duration
from bastion.crypto import DataKey, seal
from bastion.engine.machine import State
from bastion.engine.models import StepRunRow
from bastion.engine.plans import PlannedStep
from bastion.engine.run import Run
from bastion.engine.transitions import TABLE as EXECUTIONS
from bastion.engine.transitions import move
from bastion.ids import correlation_id, new_id
from bastion.steps import StepContext, StepFailed, StepResult
from bastion.store.base import table_of
from bastion.store.writer import Changes, CommitWriter
from bastion.vault import CredentialNotGranted, Lease, Masker, Use, VaultService, bare_name

log = logging.getLogger(__name__)
STEPS = table_of(StepRunRow)


@dataclass
class Attempt:
    """What one attempt of one step produced."""

    number: int
    started_at: datetime
    result: StepResult | None = None
    failure: StepFailed | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    sealed_plain: bytes = b""  # the output as stored (JSON), once sealed


class Runner:
    def __init__(
        self,
        writer: CommitWriter,
        clock: Clock,
        http: httpx.AsyncClient,
        on_finished: Callable[[Run], None],
        vault: VaultService | None = None,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._http = http
        self._on_finished = on_finished
        self._vault = vault
        self._masker = vault.masker if vault is not None else Masker()
        # Per execution: leased values the vault's masker does not (or no longer) hold.
        self._leased: dict[str, Masker] = {}

    async def run(self, run: Run) -> None:
        try:
            self._begin(run)
            await self._steps(run)
        except asyncio.CancelledError:
            if run.stop_reason is None:
                raise  # the process is shutting down: leave it to recovery
            await self.stopped(run)
        except Exception:
            await self._crashed(run)
        finally:
            self._leased.pop(run.id, None)

    async def stopped(self, run: Run) -> None:
        """End a run that was cancelled or killed (before or while it ran)."""
        assert run.stop_reason is not None
        await self._finish(run, Changes(), run.stop_reason)

    async def _crashed(self, run: Run) -> None:
        # A bug or a failed write must not leave the execution "running" for ever:
        # fail it with a correlation id; if even that cannot be written, recovery
        # will pick it up after a restart.
        cid = correlation_id()
        log.exception("execution %s crashed (correlation %s)", run.id, cid)
        run.error_code = "internal_error"
        run.error_message = f"internal error (correlation id {cid})"
        try:
            await self._finish(run, Changes(), State.failed)
        except Exception:
            log.exception("could not record the failure of execution %s", run.id)

    def _begin(self, run: Run) -> None:
        values = {"started_at": self._clock.now(), "wake_at": None}
        # Not awaited: it commits no later than the first step's record, which is.
        self._writer.submit(move(run, State.running, Changes(), values=values))

    async def _steps(self, run: Run) -> None:
        plan = run.plan
        while run.next_step < len(plan.steps):
            step = plan.steps[run.next_step]
            if self._clock.now() >= run.deadline_at:
                run.error_code, run.error_message = (
                    "deadline_exceeded",
                    "the execution deadline passed",
                )
                await self._finish(run, Changes(), State.failed)
                return
            attempt = await self._attempts(run, step)
            changes = Changes()
            if attempt.failure is not None:
                run.error_code, run.error_message = attempt.failure.code, attempt.failure.message
                await self._finish(run, changes, State.failed)
                return
            assert attempt.result is not None
            self._record_success(run, step, attempt, changes)
            if attempt.result.wait_until is not None:
                values = {"wake_at": attempt.result.wait_until, "next_step": run.next_step}
                await self._writer.submit(move(run, State.waiting, changes, values=values))
                return
            if run.next_step >= len(plan.steps):
                await self._finish(run, changes, State.succeeded)
                return
            changes.update(EXECUTIONS, run.id, {"next_step": run.next_step})
            await self._writer.submit(changes)
        await self._finish(run, Changes(), State.succeeded)

    async def _attempts(self, run: Run, step: PlannedStep) -> Attempt:
        retry = step.spec.retry
        # After a crash, attempts go on numbering from the last one recorded, and the
        # step gets at least one more try.
        first = run.attempts_done.pop(step.spec.id, 0) + 1
        last = max(first, retry.attempts)
        for number in range(first, last + 1):
            attempt = await self._attempt(run, step, number)
            if attempt.failure is None:
                return attempt
            if not attempt.failure.retryable or number == last:
                self._writer.submit(self._attempt_row(run, step, attempt, Changes()))
                return attempt
            self._writer.submit(self._attempt_row(run, step, attempt, Changes()))
            await self._clock.sleep(backoff(number, retry.backoff, retry.max_backoff))
        raise AssertionError("unreachable: attempts >= 1")

    async def _attempt(self, run: Run, step: PlannedStep, number: int) -> Attempt:
        attempt = Attempt(number, self._clock.now())
        try:
            await self._check_credentials(run, step)
        except StepFailed as exc:
            attempt.failure = exc  # refused before the step could do anything
            return attempt
        ctx = StepContext(
            execution_id=run.id, step_id=step.spec.id, attempt=number, data=run.context,
            clock=self._clock, http=self._http,
            log=lambda level, msg, fields: attempt.logs.append(
                {"level": level, "message": msg, "fields": fields}
            ),
            lease=lambda name: self._lease(run, step, name),
        )  # fmt: skip
        budget = min(step.timeout, (run.deadline_at - self._clock.now()).total_seconds())
        try:
            async with asyncio.timeout(max(budget, 0.001)):
                attempt.result = await step.runnable.run(ctx)
        except StepFailed as exc:
            attempt.failure = exc
        except TimeoutError:
            attempt.failure = StepFailed(
                f"step {step.spec.id} timed out after {budget:g}s", code="timeout", retryable=True
            )
        except Exception:
            cid = correlation_id()
            log.exception(
                "step %s of execution %s crashed (correlation %s)", step.spec.id, run.id, cid
            )
            attempt.failure = StepFailed(
                f"internal error in step {step.spec.id} (correlation id {cid})",
                code="internal_error",
            )
        return attempt

    # -- credentials ------------------------------------------------------------

    def _use(self, run: Run, step: PlannedStep) -> Use:
        return Use(run.plan.automation_id, run.id, step.spec.id, run.plan.name, run.correlation_id)

    async def _check_credentials(self, run: Run, step: PlannedStep) -> None:
        needs = step.runnable.needs.credentials
        if not needs:
            return
        if self._vault is None:
            raise StepFailed("no credential vault is configured", code="credential_not_granted")
        try:
            await self._vault.check(self._use(run, step), needs)
        except CredentialNotGranted as exc:
            raise StepFailed(exc.message, code="credential_not_granted") from None

    async def _lease(self, run: Run, step: PlannedStep, name: str) -> Lease:
        declared = {bare_name(n) for n in step.runnable.needs.credentials}
        if bare_name(name) not in declared or self._vault is None:
            # A step gets only what its definition declares: what review and grants saw.
            message = f"step {step.spec.id} does not declare credential {bare_name(name)!r}"
            raise StepFailed(message, code="credential_not_granted")
        use = self._use(run, step)
        try:
            lease = await self._vault.lease(
                use.automation_id, use.execution_id, use.step_id, name,
                automation_name=use.automation_name, correlation_id=use.correlation_id,
            )  # fmt: skip
        except CredentialNotGranted as exc:
            raise StepFailed(exc.message, code="credential_not_granted") from None
        values = lease.secret_values()
        if not self._masker.covers(values):
            self._leased.setdefault(run.id, Masker()).add(values)
        return lease

    def _mask(self, run: Run, value: Any) -> Any:
        value = self._masker.mask(value)
        extra = self._leased.get(run.id)
        return value if extra is None else extra.mask(value)

    def _record_success(
        self, run: Run, step: PlannedStep, attempt: Attempt, changes: Changes
    ) -> None:
        assert attempt.result is not None
        self._attempt_row(run, step, attempt, changes)
        # The context keeps a copy made from the stored bytes: an output that points
        # back into the context (``$.steps``) can then never become a cycle.
        output = codec.loads(attempt.sealed_plain) if attempt.sealed_plain else None
        run.context["steps"][step.spec.id] = output
        target = run.plan.after(step.index, attempt.result.goto)
        for skipped in run.plan.steps[step.index + 1 : target]:
            changes.insert(STEPS, self._skipped_row(run, skipped))
        run.next_step = target
        run.output = output

    def _attempt_row(
        self, run: Run, step: PlannedStep, attempt: Attempt, changes: Changes
    ) -> Changes:
        sid, key = step.spec.id, run.key
        row = {
            "id": new_id(), "execution_id": run.id, "step_id": sid, "position": step.index,
            "attempt": attempt.number, "started_at": attempt.started_at,
            "finished_at": self._clock.now(),
            "state": "failed" if attempt.failure else "succeeded",
            "output": None, "logs": None, "error_code": None, "error": None,
        }  # fmt: skip
        if attempt.result is not None:
            aad = run.aad("step", sid, attempt.number, "output")
            attempt.sealed_plain = codec.dumps(self._mask(run, attempt.result.output))
            row["output"] = seal(key, attempt.sealed_plain, aad)
        if attempt.logs:
            logs = self._mask(run, attempt.logs)
            row["logs"] = _seal(key, logs, run.aad("step", sid, attempt.number, "logs"))
        if attempt.failure is not None:
            row["error_code"] = attempt.failure.code
            attempt.failure.message = self._mask(run, attempt.failure.message)
            aad = run.aad("step", sid, attempt.number, "error")
            row["error"] = _seal(key, attempt.failure.message, aad)
        return changes.insert(STEPS, row)

    def _skipped_row(self, run: Run, step: PlannedStep) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "id": new_id(), "execution_id": run.id, "step_id": step.spec.id,
            "position": step.index, "attempt": 0, "state": "skipped", "started_at": now,
            "finished_at": now, "output": None, "logs": None, "error_code": None, "error": None,
        }  # fmt: skip

    async def _finish(self, run: Run, changes: Changes, target: State) -> None:
        values: dict[str, Any] = {"finished_at": self._clock.now(), "next_step": run.next_step}
        data: dict[str, Any] = {}
        if target == State.succeeded:
            if run.plan.output is not None:
                run.output = run.plan.output.render(run.context)
            run.output = self._mask(run, run.output)  # also what a waiting caller is sent
            values["output"] = _seal(run.key, run.output, run.aad("output"))
        else:
            run.error_code = run.error_code or target.value
            run.error_message = self._mask(run, run.error_message or f"execution {target.value}")
            values["error_code"] = run.error_code
            values["error"] = _seal(run.key, run.error_message, run.aad("error"))
            data["error_code"] = run.error_code
        move(run, target, changes, actor=run.stop_actor, values=values, data=data)
        await self._writer.submit(changes)
        self._on_finished(run)


def _seal(key: DataKey, value: Any, aad: bytes) -> str:
    return seal(key, codec.dumps(value), aad)


def backoff(attempt: int, base: str, cap: str) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, capped."""
    ceiling = min(
        parse_duration(cap).total_seconds(),
        parse_duration(base).total_seconds() * 2.0 ** (attempt - 1),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)
