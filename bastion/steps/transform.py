"""The ``transform`` step: build a new value from earlier data, with no side effects."""

from __future__ import annotations

from bastion.automations.definition import TransformOptions
from bastion.automations.expressions import Template
from bastion.steps.base import Needs, StepContext, StepResult


class TransformStep:
    """Renders ``options.value`` against the execution context; the result is the output."""

    def __init__(self, options: TransformOptions) -> None:
        self.needs = Needs()
        self._value = Template(options.value)

    async def run(self, ctx: StepContext) -> StepResult:
        return StepResult(output=self._value.render(ctx.data))
