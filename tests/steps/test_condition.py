import asyncio
from typing import Any

import httpx
import pytest

from bastion.automations.definition import ConditionOptions
from bastion.clock import FrozenClock
from bastion.steps import END, StepContext, StepResult
from bastion.steps.condition import ConditionStep, truthy


def run(options: dict[str, Any], value: Any) -> StepResult:
    step = ConditionStep(ConditionOptions.model_validate(options))
    data = {"trigger": {"body": {"value": value}}, "steps": {}, "execution": {}}

    async def go() -> StepResult:
        async with httpx.AsyncClient() as client:
            ctx = StepContext("exec-1", "check", 1, data, FrozenClock(), client, lambda *a: None)
            return await step.run(ctx)

    return asyncio.run(go())


BOTH = {"if": "$.trigger.body.value", "then": "approve", "else": END}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        ("", False),
        ([], False),
        ({}, False),
        (0, True),  # JMESPath: numbers are always true
        (0.0, True),
        ("false", True),
        ([None], True),
        ({"a": None}, True),
    ],
)
def test_jmespath_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
    result = run(BOTH, value)
    assert result.output == {"result": expected}
    assert result.goto == ("approve" if expected else END)


def test_true_without_then_continues() -> None:
    result = run({"if": "$.trigger.body.value", "else": "reject"}, 1)
    assert result.output == {"result": True}
    assert result.goto is None


def test_false_without_else_continues() -> None:
    result = run({"if": "$.trigger.body.value", "then": "approve"}, [])
    assert result.output == {"result": False}
    assert result.goto is None


def test_missing_path_is_false() -> None:
    result = run({"if": "$.trigger.body.absent.deeper", "then": "a", "else": "b"}, 1)
    assert result.output == {"result": False}
    assert result.goto == "b"


def test_expression_result_is_tested() -> None:
    result = run({"if": "$.trigger.body.value > `10`", "then": "big", "else": "small"}, 11)
    assert result.goto == "big"
    result = run({"if": "$.trigger.body.value > `10`", "then": "big", "else": "small"}, 3)
    assert result.goto == "small"
