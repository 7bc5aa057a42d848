"""Users: addresses normalised, unique and sealed at rest; weak passwords refused;
the first administrator made once with a 24-hour, single-use setup token that is
stored only as a keyed digest; every change audited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bastion.app import Services
from bastion.authz import Role
from bastion.clock import FrozenClock
from bastion.errors import NotFound
from bastion.identity import EmailTaken, InvalidSetupToken, WeakPassword
from tests.factories.identity import IP, PASSWORD, make_user
from tests.fixtures.services import OPERATOR

SETUP = re.compile(r"^bsu_[A-Za-z0-9_-]{43}$")


def _rows(services: Services, table: str) -> list[dict[str, Any]]:
    with services.db.reader() as s:
        return [dict(r) for r in s.execute(text(f"SELECT * FROM {table}")).mappings()]


def test_a_user_is_created_with_a_normalised_address_and_roles(services: Services) -> None:
    user = make_user(services, "  Ada.Lovelace@Example.COM ", roles=[Role.EDITOR, Role.APPROVER])
    assert (user.email, user.status, user.roles) == (
        "ada.lovelace@example.com", "active", ["approver", "editor"]
    )  # fmt: skip
    assert services.identity.users.list() == [user]
    with pytest.raises(EmailTaken):
        make_user(services, "ADA.LOVELACE@example.com")
    [event] = services.audit.list(tag="identity:user:created")
    assert event.data == '{"roles":["approver","editor"]}' and event.actor_kind == "cli"


def test_the_address_is_sealed_and_found_through_a_keyed_digest(services: Services) -> None:
    make_user(services, "ada.lovelace@example.com")
    [row] = _rows(services, "users")
    assert "lovelace" not in str(row)
    assert row["email"].startswith("v1:") and row["email_digest"].startswith("v1:")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(row)


def test_weak_passwords_are_refused_at_creation(services: Services) -> None:
    with pytest.raises(WeakPassword) as info:
        make_user(services, password="short pass")
    assert info.value.reason == "too_short"
    with pytest.raises(WeakPassword):
        make_user(services, password="Password2026!")
    assert _rows(services, "users") == []


def test_unknown_users_are_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        services.identity.users.get("0" * 32)
    with pytest.raises(NotFound):
        services.identity.users.disable("0" * 32, OPERATOR)


def test_the_first_administrator_is_made_with_a_setup_token(
    services: Services, clock: FrozenClock
) -> None:
    issued = services.identity.users.issue_setup_token(OPERATOR)
    assert issued is not None and SETUP.match(issued.token)
    assert issued.expires_at == clock.now() + timedelta(hours=24)
    [row] = _rows(services, "one_time_tokens")
    assert issued.token[4:] not in str(row) and row["digest"].startswith("v1:")
    admin = services.identity.users.setup_first_admin(
        issued.token, "root@example.com", PASSWORD, IP
    )
    assert admin.roles == ["admin"]
    tags = [(e.tag, e.actor_kind) for e in services.audit.list(tag="identity:", limit=100)]
    assert tags == [
        ("identity:setup_token:issued", "cli"),
        ("identity:user:created", "setup_token"),
        ("identity:setup_token:used", "setup_token"),
    ]
    with pytest.raises(InvalidSetupToken):  # single use
        services.identity.users.setup_first_admin(issued.token, "eve@example.com", PASSWORD)
    assert services.identity.users.issue_setup_token(OPERATOR) is None  # users exist now


def test_a_setup_token_expires_after_24_hours(services: Services, clock: FrozenClock) -> None:
    issued = services.identity.users.issue_setup_token(OPERATOR)
    assert issued is not None
    clock.advance(timedelta(hours=24))
    with pytest.raises(InvalidSetupToken):
        services.identity.users.setup_first_admin(issued.token, "root@example.com", PASSWORD)


def test_a_new_setup_token_supersedes_the_old(services: Services) -> None:
    old = services.identity.users.issue_setup_token(OPERATOR)
    new = services.identity.users.issue_setup_token(OPERATOR)
    assert old is not None and new is not None
    with pytest.raises(InvalidSetupToken):
        services.identity.users.setup_first_admin(old.token, "root@example.com", PASSWORD)
    services.identity.users.setup_first_admin(new.token, "root@example.com", PASSWORD)


@pytest.mark.parametrize("token", ["", "bsu_", "bsu_" + "A" * 43, "bst_0000000000000000_x"])
def test_wrong_setup_tokens_are_refused_alike(services: Services, token: str) -> None:
    services.identity.users.issue_setup_token(OPERATOR)
    with pytest.raises(InvalidSetupToken) as info:
        services.identity.users.setup_first_admin(token, "root@example.com", PASSWORD)
    assert info.value.code == "invalid_setup_token"


def test_a_weak_password_does_not_use_up_the_setup_token(services: Services) -> None:
    issued = services.identity.users.issue_setup_token(OPERATOR)
    assert issued is not None
    with pytest.raises(WeakPassword):
        services.identity.users.setup_first_admin(issued.token, "root@example.com", "admin1234567")
    services.identity.users.setup_first_admin(issued.token, "root@example.com", PASSWORD)
