import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from bastion.automations.definition import WaitOptions
from bastion.clock import FrozenClock
from bastion.steps import Needs, StepContext, StepResult
from bastion.steps.wait import WaitStep


def run(duration: str, clock: FrozenClock) -> StepResult:
    step = WaitStep(WaitOptions.model_validate({"for": duration}))

    async def go() -> StepResult:
        async with httpx.AsyncClient() as client:
            ctx = StepContext("exec-1", "pause", 1, {}, clock, client, lambda *a: None)
            return await step.run(ctx)

    return asyncio.run(go())


def test_until_is_now_plus_duration() -> None:
    clock = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    result = run("10m", clock)
    assert result.wait_until == datetime(2026, 3, 1, 12, 10, tzinfo=UTC)
    assert result.output == {"until": "2026-03-01T12:10:00+00:00"}
    assert result.goto is None


def test_until_follows_the_clock() -> None:
    clock = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    clock.advance(timedelta(days=1, seconds=30))
    result = run("2d", clock)
    assert result.wait_until == datetime(2026, 3, 4, 12, 0, 30, tzinfo=UTC)
    assert result.output == {"until": "2026-03-04T12:00:30+00:00"}


def test_needs_nothing() -> None:
    assert WaitStep(WaitOptions.model_validate({"for": "1s"})).needs == Needs()
