"""The first administrator through the real ``bastion`` command: ``init`` prints a
one-time setup token, ``users setup`` asks for the password without echo and makes
the administrator once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.app import build
from bastion.settings import Settings
from tests.factories.identity import PASSWORD

BASTION = Path(sys.executable).parent / "bastion"
Run = Callable[..., subprocess.CompletedProcess[str]]
TOKEN = re.compile(r"\b(bsu_[A-Za-z0-9_-]{43})\b")


@pytest.fixture
def run(tmp_path: Path, database_url: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(BASTION_DATA_DIR=str(tmp_path / "data"), BASTION_DATABASE_URL=database_url,
               COLUMNS="200", NO_COLOR="1")  # fmt: skip

    def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        # A new session has no controlling terminal, so the password prompt reads stdin.
        return subprocess.run(
            [str(BASTION), *args], env=env, input=stdin, capture_output=True, text=True,
            timeout=120, check=False, start_new_session=True,
        )  # fmt: skip

    return _run


def test_init_prints_a_setup_token_and_users_setup_makes_the_first_admin(
    run: Run, tmp_path: Path, database_url: str
) -> None:
    init = run("init")
    assert init.returncode == 0, init.stderr
    [token] = TOKEN.findall(init.stdout)
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    done = run("users", "setup", token, "--email", "Root@Example.com", stdin=typed)
    assert done.returncode == 0, done.stderr
    assert "administrator root@example.com created" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    again = run("users", "setup", token, "--email", "eve@example.com", stdin=typed)
    assert again.returncode == 4 and "invalid_setup_token" in again.stderr
    assert TOKEN.findall(run("init").stdout) == []  # an administrator exists: no new token
    services = build(Settings(data_dir=tmp_path / "data", database_url=database_url))
    try:
        [admin] = services.identity.users.list()
        assert (admin.email, admin.roles) == ("root@example.com", ["admin"])
    finally:
        services.db.dispose()


def test_a_weak_password_is_refused_and_the_token_kept(run: Run) -> None:
    [token] = TOKEN.findall(run("init").stdout)
    weak = run("users", "setup", token, "--email", "root@example.com", stdin="password1234\n" * 2)
    assert weak.returncode == 5 and "weak_password" in weak.stderr
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    ok = run("users", "setup", "--email", "root@example.com", stdin=f"{token}\n{typed}")
    assert ok.returncode == 0, ok.stderr


def test_mismatched_passwords_are_refused(run: Run) -> None:
    [token] = TOKEN.findall(run("init").stdout)
    typed = f"{PASSWORD}\n{PASSWORD}x\n"
    result = run("users", "setup", token, "--email", "root@example.com", stdin=typed)
    assert result.returncode == 5 and "differ" in result.stderr
