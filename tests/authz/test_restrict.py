"""RBAC-2 (query and decision parts): sensitive and critical automations are seen
and used only with an explicit grant, both in SQL list queries (``restrict``) and
in the single decision (``authorize`` with an ``AutomationResource``), where a
missing grant reads as "not found"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bastion.app import Services
from bastion.authz import (
    GRANTED_SENSITIVITIES,
    OPEN_SENSITIVITIES,
    AutomationResource,
    NotGranted,
    Permission,
    Principal,
    Role,
    authorize,
    permissions_for,
    restrict,
)
from bastion.automations.definition import Sensitivity
from bastion.automations.models import AutomationRow
from bastion.engine.models import ExecutionRow
from bastion.errors import Conflict, Invalid, NotFound
from tests.fixtures.services import OPERATOR

LEVELS = ["low", "normal", "sensitive", "critical"]


def _definition(sensitivity: str) -> str:
    return (
        f"name: flow-{sensitivity}\nowner: ops\nsensitivity: {sensitivity}\n"
        "trigger: {manual: {}}\nsteps:\n  - id: a\n    transform: {value: 1}\n"
    )


@pytest.fixture
def flows(services: Services, apply: Any) -> dict[str, str]:
    for level in LEVELS:
        apply(_definition(level))
    return {level: services.automations.get(f"flow-{level}").id for level in LEVELS}


def _viewer(user_id: str = "u-viewer", grants: frozenset[str] = frozenset()) -> Principal:
    perms = permissions_for([Role.VIEWER])
    return Principal("user", user_id, user_id, perms, frozenset({"viewer"}), grants)


def _names(services: Services, principal: Principal, **kw: Any) -> list[str]:
    stmt = restrict(select(AutomationRow.name).order_by(AutomationRow.name), principal, **kw)
    with services.db.reader() as s:
        return list(s.scalars(stmt))


def test_the_sensitivity_vocabulary_matches_the_definition_format() -> None:
    assert {s.value for s in Sensitivity} == OPEN_SENSITIVITIES | GRANTED_SENSITIVITIES


def test_a_viewer_without_a_grant_cannot_see_a_critical_automation_in_a_list(
    services: Services, flows: dict[str, str]
) -> None:
    assert _names(services, _viewer()) == ["flow-low", "flow-normal"]


def test_a_grant_makes_exactly_that_automation_visible_to_exactly_that_principal(
    services: Services, flows: dict[str, str]
) -> None:
    services.grants.grant("user", "u-viewer", flows["critical"], OPERATOR)
    assert _names(services, _viewer()) == ["flow-critical", "flow-low", "flow-normal"]
    assert _names(services, _viewer("u-other")) == ["flow-low", "flow-normal"]
    token = Principal("token", "u-viewer", "t", permissions_for([Role.VIEWER]))
    assert _names(services, token) == ["flow-low", "flow-normal"]  # the kind counts too


def test_even_an_admin_needs_a_grant(services: Services, flows: dict[str, str]) -> None:
    admin = Principal("user", "root", "root", permissions_for([Role.ADMIN]))
    assert _names(services, admin) == ["flow-low", "flow-normal"]


def test_without_the_permission_nothing_is_listed(
    services: Services, flows: dict[str, str]
) -> None:
    services.grants.grant("user", "u-viewer", flows["critical"], OPERATOR)
    assert _names(services, _viewer(), permission=Permission.ENGINE_EXECUTION_RUN) == []
    nobody = Principal("user", "u-viewer", "x", frozenset())
    assert _names(services, nobody) == []


def test_whole_rows_and_joined_queries_are_restricted_too(
    services: Services, flows: dict[str, str]
) -> None:
    with services.db.reader() as s:
        rows = s.scalars(restrict(select(AutomationRow), _viewer())).all()
        assert {r.sensitivity for r in rows} == {"low", "normal"}
        joined = select(ExecutionRow.id).join(
            AutomationRow, AutomationRow.id == ExecutionRow.automation_id
        )
        s.execute(restrict(joined, _viewer())).all()  # compiles and runs


def test_a_query_without_automations_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        restrict(select(ExecutionRow.id), _viewer())


@pytest.mark.parametrize("level", LEVELS)
def test_authorize_hides_ungranted_sensitive_automations_as_not_found(level: str) -> None:
    resource = AutomationResource("a1", level)
    if level in ("sensitive", "critical"):
        with pytest.raises(NotGranted) as info:
            authorize(_viewer(), Permission.AUTOMATIONS_AUTOMATION_READ, resource)
        assert isinstance(info.value, NotFound) and info.value.reason == "not_granted"
        authorize(
            _viewer(grants=frozenset({"a1"})), Permission.AUTOMATIONS_AUTOMATION_READ, resource
        )
    else:
        authorize(_viewer(), Permission.AUTOMATIONS_AUTOMATION_READ, resource)


def test_a_grant_does_not_add_permissions() -> None:
    granted = _viewer(grants=frozenset({"a1"}))
    with pytest.raises(Exception) as info:
        authorize(granted, Permission.ENGINE_EXECUTION_RUN, AutomationResource("a1", "critical"))
    assert getattr(info.value, "reason", None) == "missing_permission"


def test_an_unknown_sensitivity_fails_closed() -> None:
    with pytest.raises(NotGranted):
        authorize(_viewer(), Permission.AUTOMATIONS_AUTOMATION_READ, AutomationResource("a", "?"))


def test_grants_are_audited_unique_and_revocable(services: Services, flows: dict[str, str]) -> None:
    services.grants.grant("user", "u-viewer", flows["critical"], OPERATOR)
    with pytest.raises(Conflict):
        services.grants.grant("user", "u-viewer", flows["critical"], OPERATOR)
    with pytest.raises(NotFound):
        services.grants.grant("user", "u-viewer", "0" * 32, OPERATOR)
    with pytest.raises(Invalid):
        services.grants.grant("robot", "u-viewer", flows["critical"], OPERATOR)
    assert services.grants.granted("user", "u-viewer") == {flows["critical"]}
    services.grants.revoke("user", "u-viewer", flows["critical"], OPERATOR)
    assert _names(services, _viewer()) == ["flow-low", "flow-normal"]
    with pytest.raises(NotFound):
        services.grants.revoke("user", "u-viewer", flows["critical"], OPERATOR)
    events = services.audit.list(tag="authz:grant:")
    assert [(e.tag, e.automation_id, e.subject_id) for e in events] == [
        ("authz:grant:created", flows["critical"], "u-viewer"),
        ("authz:grant:revoked", flows["critical"], "u-viewer"),
    ]


def test_an_aliased_automations_table_is_refused_rather_than_left_open() -> None:
    from sqlalchemy.orm import aliased

    other = aliased(AutomationRow)
    with pytest.raises(ValueError):
        restrict(select(other.id), _viewer())
