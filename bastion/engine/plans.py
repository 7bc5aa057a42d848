"""A plan: an automation version compiled once (templates, step runnables) and cached."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.automations import Current, Definition, Step, Template
from bastion.clock import parse_duration
from bastion.settings import Settings
from bastion.steps import END, Runnable, build


@dataclass(frozen=True)
class PlannedStep:
    index: int
    spec: Step
    runnable: Runnable
    timeout: float


@dataclass(frozen=True)
class Plan:
    automation_id: str
    name: str
    version: int
    definition: Definition
    steps: tuple[PlannedStep, ...]
    index_of: dict[str, int]
    output: Template | None
    deadline: float

    def after(self, index: int, goto: str | None) -> int:
        """The index of the step to run after ``index``; ``len(steps)`` means done."""
        if goto is None:
            return index + 1
        if goto == END:
            return len(self.steps)
        return self.index_of[goto]


def compile_plan(current: Current, settings: Settings) -> Plan:
    defn = current.definition
    steps = tuple(
        PlannedStep(
            i, spec, build(spec, defn), _seconds(spec.timeout, settings.step_timeout_seconds)
        )
        for i, spec in enumerate(defn.steps)
    )
    return Plan(
        automation_id=current.id,
        name=current.name,
        version=current.version,
        definition=defn,
        steps=steps,
        index_of={s.spec.id: s.index for s in steps},
        output=Template(defn.output) if defn.output is not None else None,
        deadline=_seconds(defn.deadline, settings.execution_deadline_seconds),
    )


def _seconds(duration: str | None, default: float) -> float:
    return parse_duration(duration).total_seconds() if duration else default
