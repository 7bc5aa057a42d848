"""The in-process dispatcher: one task per execution, at most ``workers`` running at once.

A task per execution (not a fixed set of worker loops) makes cancelling one
execution a plain ``task.cancel()``. The bound on *waiting* executions is what
turns overload into a clear 503 instead of unbounded memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bastion.engine.run import Run
from bastion.errors import Unavailable


class Overloaded(Unavailable):
    code = "overloaded"


class InProcessDispatcher:
    def __init__(
        self,
        execute: Callable[[Run], Awaitable[None]],
        stopped: Callable[[Run], Awaitable[None]],
        *,
        workers: int,
        max_pending: int,
    ) -> None:
        self._execute = execute
        self._stopped = stopped
        self._slots = asyncio.Semaphore(workers)
        self._max_pending = max_pending
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.runs: dict[str, Run] = {}

    def check_capacity(self) -> None:
        if len(self.tasks) >= self._max_pending:
            raise Overloaded("too many executions in progress; retry shortly")

    def dispatch(self, run: Run) -> None:
        if run.id in self.tasks:
            return
        task = asyncio.create_task(self._guarded(run), name=f"execution-{run.id}")
        self.tasks[run.id], self.runs[run.id] = task, run
        task.add_done_callback(lambda _t: self._forget(run.id))

    def _forget(self, execution_id: str) -> None:
        self.tasks.pop(execution_id, None)
        self.runs.pop(execution_id, None)

    async def _guarded(self, run: Run) -> None:
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:
            if run.stop_reason is None:
                raise  # shutting down: recovery resumes it
            await self._stopped(run)  # cancelled while waiting for a slot
            return
        try:
            await self._execute(run)
        finally:
            self._slots.release()

    def cancel(self, execution_id: str) -> bool:
        task = self.tasks.get(execution_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def stop(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
