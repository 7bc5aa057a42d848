import pytest

from bastion.automations.definition import STEP_KINDS, Step
from bastion.automations.expressions import ExpressionError
from bastion.steps import KINDS, Needs, build
from bastion.steps.condition import ConditionStep
from bastion.steps.http import HttpStep
from bastion.steps.log import LogStep
from bastion.steps.transform import TransformStep
from bastion.steps.wait import WaitStep


def test_every_definition_kind_has_a_step() -> None:
    assert set(KINDS) == set(STEP_KINDS)


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"http": {"url": "https://api.example.com/x", "method": "POST"}}, HttpStep),
        ({"transform": {"value": {"a": "$.trigger.body"}}}, TransformStep),
        ({"condition": {"if": "$.trigger.ok", "then": "end"}}, ConditionStep),
        ({"log": {"message": "hi"}}, LogStep),
        ({"wait": {"for": "5m"}}, WaitStep),
    ],
)
def test_build_dispatches_on_kind(body: dict[str, object], cls: type) -> None:
    step = build(Step.model_validate({"id": "s1", **body}))
    assert type(step) is cls


def test_build_passes_the_options() -> None:
    step = build(
        Step.model_validate(
            {"id": "s1", "http": {"url": "https://api.example.com/x", "method": "PUT"}}
        )
    )
    assert step.needs == Needs(egress=frozenset({"api.example.com"}), effects=True)


def test_build_compiles_templates() -> None:
    with pytest.raises(ExpressionError):
        build(Step.model_validate({"id": "s1", "transform": {"value": "$.steps..x"}}))
