import asyncio
from typing import Any

import httpx

from bastion.automations.definition import LogOptions
from bastion.clock import FrozenClock
from bastion.steps import Needs, StepContext, StepResult
from bastion.steps.log import LogStep


def run(
    options: dict[str, Any], data: dict[str, Any]
) -> tuple[StepResult, list[tuple[str, str, Any]]]:
    step = LogStep(LogOptions.model_validate(options))
    lines: list[tuple[str, str, Any]] = []

    def log(level: str, message: str, fields: dict[str, Any]) -> None:
        lines.append((level, message, fields))

    async def go() -> StepResult:
        async with httpx.AsyncClient() as client:
            ctx = StepContext("exec-1", "note", 1, data, FrozenClock(), client, log)
            return await step.run(ctx)

    return asyncio.run(go()), lines


DATA = {"trigger": {"body": {"order": 17, "items": [1, 2]}}, "steps": {}, "execution": {}}


def test_logs_rendered_fields_at_the_level() -> None:
    options = {
        "message": "order received",
        "level": "warning",
        "fields": {
            "order": "$.trigger.body.order",
            "count": "$.trigger.body.items | length(@)",
            "tag": "$$x",
        },
    }
    result, lines = run(options, DATA)
    fields = {"order": 17, "count": 2, "tag": "$x"}
    assert lines == [("warning", "order received", fields)]
    assert result.output == {"message": "order received", "fields": fields}


def test_default_level_is_info_and_fields_empty() -> None:
    step = LogStep(LogOptions.model_validate({"message": "hello"}))
    assert step.needs == Needs()
    result, lines = run({"message": "hello"}, DATA)
    assert lines == [("info", "hello", {})]
    assert result.output == {"message": "hello", "fields": {}}


def test_message_is_literal_text() -> None:
    _, lines = run({"message": "$.trigger.body.order"}, DATA)
    assert lines == [("info", "$.trigger.body.order", {})]
