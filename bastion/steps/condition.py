"""The ``condition`` step: test one reference and pick the branch to follow."""

from __future__ import annotations

from typing import Any

from bastion.automations.definition import ConditionOptions
from bastion.automations.expressions import compile_reference
from bastion.steps.base import Needs, StepContext, StepResult


def truthy(value: Any) -> bool:
    """JMESPath truth: only false, null and empty strings, lists and objects are false.

    Python's ``bool`` would also call ``0`` and ``0.0`` false; authors write
    references in JMESPath, so the step follows JMESPath's rule instead.
    """
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


class ConditionStep:
    """Outputs ``{"result": bool}`` and goes to ``then`` or ``else``; an absent branch continues."""

    def __init__(self, options: ConditionOptions) -> None:
        self.needs = Needs()
        self._test = compile_reference(options.if_)
        self._then = options.then
        self._else = options.else_

    async def run(self, ctx: StepContext) -> StepResult:
        result = truthy(self._test.evaluate(ctx.data))
        return StepResult(output={"result": result}, goto=self._then if result else self._else)
