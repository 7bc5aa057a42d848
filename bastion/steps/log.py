"""The ``log`` step: write a message with rendered fields to the execution's sealed log."""

from __future__ import annotations

from bastion.automations.definition import LogOptions
from bastion.automations.expressions import Template
from bastion.steps.base import Needs, StepContext, StepResult


class LogStep:
    """Calls ``ctx.log(level, message, fields)``; outputs what was logged.

    The message is literal text: only ``fields`` holds references, so a log line's
    shape stays fixed and data never changes what the message says.
    """

    def __init__(self, options: LogOptions) -> None:
        self.needs = Needs()
        self._level = options.level
        self._message = options.message
        self._fields = Template(options.fields)

    async def run(self, ctx: StepContext) -> StepResult:
        fields = self._fields.render(ctx.data)
        ctx.log(self._level, self._message, fields)
        return StepResult(output={"message": self._message, "fields": fields})
