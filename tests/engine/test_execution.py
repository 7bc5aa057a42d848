"""Executions end to end through the real engine, writer and database."""

from __future__ import annotations

from typing import Any

from bastion.app import Services
from bastion.engine import State

ORDER = """
name: order-intake
owner: ops
trigger:
  webhook:
    respond: result
    schema:
      type: object
      required: [id, total]
      properties: {id: {type: string}, total: {type: number}}
steps:
  - id: shape
    transform:
      value: {order: $.trigger.body.id, big: "$.trigger.body.total > `100`"}
  - id: check
    condition: {if: $.steps.shape.big, then: flag, else: end}
  - id: flag
    log: {message: big order, fields: {order: $.steps.shape.order}}
output: $.steps.shape
"""


def test_runs_steps_in_order_and_stores_each(services: Services, apply: Any, live: Any) -> None:
    apply(ORDER)

    async def go(svc: Services) -> Any:
        run = await svc.manual.run("order-intake", {"id": "o-1", "total": 250}, actor_of())
        return await svc.engine.wait(run, 5)

    run = live(go)
    assert run.state == State.succeeded
    assert run.output == {"order": "o-1", "big": True}
    view = services.engine.get(run.id)
    assert [(s["step_id"], s["state"]) for s in view.steps] == [
        ("shape", "succeeded"),
        ("check", "succeeded"),
        ("flag", "succeeded"),
    ]
    assert view.steps[2]["logs"] == [
        {"level": "info", "message": "big order", "fields": {"order": "o-1"}}
    ]
    assert view.input == {"id": "o-1", "total": 250}


def test_condition_else_end_skips_the_rest(services: Services, apply: Any, live: Any) -> None:
    apply(ORDER)

    async def go(svc: Services) -> Any:
        run = await svc.manual.run("order-intake", {"id": "o-2", "total": 5}, actor_of())
        return await svc.engine.wait(run, 5)

    run = live(go)
    assert run.state == State.succeeded
    steps = services.engine.get(run.id).steps
    assert [(s["step_id"], s["state"]) for s in steps] == [
        ("shape", "succeeded"),
        ("check", "succeeded"),
        ("flag", "skipped"),
    ]


def actor_of() -> Any:
    from tests.fixtures.services import OPERATOR

    return OPERATOR
