"""Step kinds: each turns one step definition into a ``Runnable``.

``build`` is the only way the engine gets a step: it looks the kind up in
``KINDS``, and the kind's constructor compiles every template once, so a bad
reference is found when a version is applied, not mid-execution. Each kind
lives in its own module behind the interface in ``base``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bastion.automations.definition import Definition, Step
from bastion.steps.base import END, Needs, Runnable, StepContext, StepFailed, StepResult
from bastion.steps.condition import ConditionStep
from bastion.steps.http import HttpStep, allow_list
from bastion.steps.log import LogStep
from bastion.steps.transform import TransformStep
from bastion.steps.wait import WaitStep

KINDS: dict[str, Callable[[Any], Runnable]] = {
    "http": HttpStep,
    "transform": TransformStep,
    "condition": ConditionStep,
    "log": LogStep,
    "wait": WaitStep,
}


def build(step: Step, definition: Definition | None = None) -> Runnable:
    """Compile ``step`` into its Runnable. Raises Invalid (e.g. ExpressionError) for bad options.

    ``definition``, the automation the step belongs to, scopes what an ``http`` step
    may reach (its literal URLs' hosts and ``egress.hosts``); without it, an http
    step may reach only the host of its own literal URL.
    """
    if step.http is not None and definition is not None:
        return HttpStep(step.http, allow_list(definition))
    return KINDS[step.kind](step.options)


__all__ = ["END", "KINDS", "Needs", "Runnable", "StepContext", "StepFailed", "StepResult", "build"]
