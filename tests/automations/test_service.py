"""Applying definitions: immutable versions, encrypted at rest, changes audited with a diff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bastion.app import Services
from tests.fixtures.services import OPERATOR

V1 = """
name: greeter
owner: ops
trigger: {manual: {}}
steps:
  - id: hello
    transform: {value: {greeting: hello}}
"""


def test_apply_creates_then_versions_then_is_idempotent(services: Services, apply: Any) -> None:
    assert (apply(V1).outcome, apply(V1).outcome) == ("created", "unchanged")
    result = apply(V1.replace("hello}", "bonjour}"))
    assert (result.outcome, result.version) == ("updated", 2)
    assert [c.path for c in result.changes] == ["/steps/0/transform/value/greeting"]
    assert [v.version for v in services.automations.versions("greeter")] == [1, 2]
    old = services.automations.definition("greeter", 1).steps[0].transform
    assert old is not None and old.value == {"greeting": "hello"}


def test_every_change_is_audited_with_a_sealed_diff(services: Services, apply: Any) -> None:
    apply(V1)
    apply(V1.replace("hello}", "bonjour}"))
    services.automations.set_enabled("greeter", False, OPERATOR)
    events = [e for e in services.audit.list() if e.tag.startswith("automations:")]
    assert [e.tag for e in events] == [
        "automations:automation:created",
        "automations:automation:applied",
        "automations:automation:disabled",
    ]
    applied = events[1]
    assert applied.actor_name == OPERATOR.name
    assert "bonjour" not in (applied.sealed or "") and "bonjour" not in applied.data
    assert services.audit.open_sealed(applied) == {
        "diff": [{"op": "replace", "path": "/steps/0/transform/value/greeting",
                  "old": "hello", "new": "bonjour"}]
    }  # fmt: skip


def test_definitions_are_stored_encrypted(services: Services, apply: Any) -> None:
    apply(V1)
    with services.db.reader() as s:
        stored = s.execute(text("select definition from automation_versions")).scalar_one()
    assert stored.startswith("v1:") and "hello" not in stored and "greeter" not in stored


def test_disable_is_idempotent_and_only_audited_once(services: Services, apply: Any) -> None:
    apply(V1)
    assert services.automations.set_enabled("greeter", False, OPERATOR) is True
    assert services.automations.set_enabled("greeter", False, OPERATOR) is False
    assert len([e for e in services.audit.list() if e.tag.endswith(":disabled")]) == 1
