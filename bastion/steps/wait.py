"""The ``wait`` step: park the execution on a durable timer instead of sleeping."""

from __future__ import annotations

from bastion.automations.definition import WaitOptions
from bastion.clock import parse_duration
from bastion.steps.base import Needs, StepContext, StepResult


class WaitStep:
    """Returns ``wait_until`` = now + ``for``; the engine resumes the execution then."""

    def __init__(self, options: WaitOptions) -> None:
        self.needs = Needs()
        self._delay = parse_duration(options.for_)

    async def run(self, ctx: StepContext) -> StepResult:
        until = ctx.clock.now() + self._delay
        return StepResult(output={"until": until.isoformat()}, wait_until=until)
