"""Manual runs (CLI, API): the same input validation as every other trigger."""

from __future__ import annotations

from typing import Any

from bastion.audit import Actor
from bastion.automations import AutomationService
from bastion.engine import Engine, Run
from bastion.triggers.inputs import InputValidator


class ManualTrigger:
    def __init__(
        self, automations: AutomationService, engine: Engine, inputs: InputValidator
    ) -> None:
        self._automations = automations
        self._engine = engine
        self._inputs = inputs

    async def run(
        self, name: str, payload: Any, actor: Actor, *, correlation_id: str | None = None
    ) -> Run:
        current = self._automations.current(name)
        self._inputs.check(
            (current.id, current.version), current.definition.trigger.input_schema, payload
        )
        return await self._engine.submit(
            current, payload, trigger_kind="manual", actor=actor, correlation_id=correlation_id
        )
