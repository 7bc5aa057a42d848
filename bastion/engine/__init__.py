"""The engine: executions, their state machine (one writer), retries, timeouts, waits,
cancellation, crash recovery and the in-process dispatcher."""

from bastion.engine.dispatcher import Overloaded
from bastion.engine.machine import TERMINAL, TRANSITIONS, State
from bastion.engine.models import ExecutionRow, StepRunRow
from bastion.engine.run import Run
from bastion.engine.service import Engine, ExecutionNotFound
from bastion.engine.transitions import IllegalTransition
from bastion.engine.views import ExecutionView

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Engine",
    "ExecutionNotFound",
    "ExecutionRow",
    "ExecutionView",
    "IllegalTransition",
    "Overloaded",
    "Run",
    "State",
    "StepRunRow",
]
