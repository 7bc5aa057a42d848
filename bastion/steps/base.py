"""The one small interface every step kind implements.

A step kind turns a step definition into a ``Runnable`` once per automation
version (compiling its templates), declares what it ``needs`` (credentials,
egress hosts, outside effects), and runs against a ``StepContext``. Steps never
touch the database: the engine stores what they return.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from bastion.clock import Clock
from bastion.vault import Lease

END = "end"


@dataclass(frozen=True)
class Needs:
    """What a step requires; checked against the automation's grants (SA-2)."""

    credentials: frozenset[str] = frozenset()
    egress: frozenset[str] = frozenset()
    effects: bool = False  # talks to the outside world: gets an idempotency key


LogFn = Callable[[str, str, dict[str, Any]], None]
LeaseFn = Callable[[str], Awaitable[Lease]]


async def no_vault(name: str) -> Lease:
    """The lease of a context built without the engine: nothing is ever granted."""
    raise StepFailed(f"credential {name!r} is not available here", code="credential_not_granted")


@dataclass
class StepContext:
    execution_id: str
    step_id: str
    attempt: int
    data: dict[str, Any]  # {"trigger": ..., "steps": {...}, "execution": {...}}
    clock: Clock
    http: httpx.AsyncClient
    log: LogFn  # log(level, message, fields): stored (sealed) with the step record
    # lease("cred:name"): the credential's active version, for this step only. Only
    # credentials the step declares in ``needs`` and its automation is granted are
    # leased; anything else raises StepFailed ``credential_not_granted``. Values from
    # a lease are masked in everything the engine stores; a step never returns them.
    lease: LeaseFn = no_vault

    @property
    def idempotency_key(self) -> str:
        return f"{self.execution_id}:{self.step_id}"


@dataclass(frozen=True)
class StepResult:
    output: Any = None
    goto: str | None = None  # a later step id or END; None continues with the next step
    wait_until: datetime | None = None  # park the execution on a durable timer
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. status code, duration


class StepFailed(Exception):
    """A step failed in a way the definition's author should see.

    ``message`` is shown to the caller and stored; it must hold no secret.
    ``retryable`` says whether a retry could succeed (timeouts, 5xx) or not.
    """

    def __init__(self, message: str, *, code: str = "step_failed", retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class Runnable(Protocol):
    needs: Needs

    async def run(self, ctx: StepContext) -> StepResult:
        """Run once. Returns the result; raises StepFailed on an expected failure."""
