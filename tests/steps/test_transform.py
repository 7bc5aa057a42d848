import asyncio
from typing import Any

import httpx
import pytest

from bastion.automations.definition import TransformOptions
from bastion.automations.expressions import ExpressionError
from bastion.clock import FrozenClock
from bastion.steps import Needs, StepContext, StepResult
from bastion.steps.transform import TransformStep

DATA = {
    "trigger": {"body": {"amount": 42, "customer": {"name": "Ada", "tags": ["vip", "eu"]}}},
    "steps": {"fetch": {"body": {"items": [{"id": 7}, {"id": 9}]}}},
    "execution": {"id": "exec-1"},
}


def run(value: Any, data: dict[str, Any] = DATA) -> StepResult:
    step = TransformStep(TransformOptions.model_validate({"value": value}))

    async def go() -> StepResult:
        async with httpx.AsyncClient() as client:
            ctx = StepContext("exec-1", "shape", 1, data, FrozenClock(), client, lambda *a: None)
            return await step.run(ctx)

    return asyncio.run(go())


def test_renders_nested_references_keeping_types() -> None:
    result = run(
        {
            "amount": "$.trigger.body.amount",
            "who": {
                "name": "$.trigger.body.customer.name",
                "first_tag": "$.trigger.body.customer.tags[0]",
            },
            "ids": ["$.steps.fetch.body.items[*].id", "$.execution.id", 3, None, True],
            "customer": "$.trigger.body.customer",
        }
    )
    assert result.output == {
        "amount": 42,
        "who": {"name": "Ada", "first_tag": "vip"},
        "ids": [[7, 9], "exec-1", 3, None, True],
        "customer": {"name": "Ada", "tags": ["vip", "eu"]},
    }
    assert result.goto is None and result.wait_until is None


def test_double_dollar_is_a_literal_and_plain_strings_stay_text() -> None:
    result = run({"price": "$$5", "ref_text": "$$.trigger.body.amount", "plain": "hello $x"})
    assert result.output == {
        "price": "$5",
        "ref_text": "$.trigger.body.amount",
        "plain": "hello $x",
    }


def test_dollar_alone_is_the_whole_context() -> None:
    assert run("$").output == DATA


def test_missing_reference_renders_null() -> None:
    assert run({"gone": "$.steps.nope.body"}).output == {"gone": None}


def test_renders_per_context() -> None:
    step_data = {"trigger": {"body": {"amount": 1}}, "steps": {}, "execution": {}}
    assert run("$.trigger.body.amount", step_data).output == 1


def test_bad_reference_fails_at_build_and_needs_nothing() -> None:
    with pytest.raises(ExpressionError):
        TransformStep(TransformOptions.model_validate({"value": {"x": "$.trigger[["}}))
    assert TransformStep(TransformOptions.model_validate({"value": 1})).needs == Needs()
