"""The execution state machine, as data.

``TRANSITIONS`` lists every legal move; anything else is refused by
``engine.transitions``, the only code that changes an execution's state.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    queued = "queued"
    running = "running"
    waiting = "waiting"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    killed = "killed"


TERMINAL = frozenset({State.succeeded, State.failed, State.cancelled, State.killed})

# Every state that is not terminal can be cancelled, killed or failed (deadline).
_STOPS = {State.failed, State.cancelled, State.killed}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.queued: frozenset({State.running, *_STOPS}),
    # running -> running is a resume after a crash: recorded, state unchanged.
    State.running: frozenset({State.running, State.waiting, State.succeeded, *_STOPS}),
    State.waiting: frozenset({State.running, *_STOPS}),
    State.succeeded: frozenset(),
    State.failed: frozenset(),
    State.cancelled: frozenset(),
    State.killed: frozenset(),
}


def allowed(source: State, target: State) -> bool:
    return target in TRANSITIONS[source]
