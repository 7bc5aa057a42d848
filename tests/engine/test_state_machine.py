"""The state machine as data, and the one writer that enforces it."""

from __future__ import annotations

import pytest

from bastion.engine import TERMINAL, TRANSITIONS, State
from bastion.engine.machine import allowed


def test_terminal_states_have_no_way_out() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize(
    ("source", "target", "ok"),
    [
        (State.queued, State.running, True),
        (State.queued, State.succeeded, False),  # nothing succeeds without running
        (State.running, State.waiting, True),
        (State.waiting, State.succeeded, False),  # a wait resumes by running again
        (State.waiting, State.running, True),
        (State.succeeded, State.running, False),  # finished executions never run twice
        (State.cancelled, State.running, False),
        (State.killed, State.queued, False),
    ],
)
def test_transition_table(source: State, target: State, ok: bool) -> None:
    assert allowed(source, target) is ok


def test_every_live_state_can_be_stopped() -> None:
    for state in set(State) - TERMINAL:
        assert {State.cancelled, State.killed, State.failed} <= TRANSITIONS[state]
