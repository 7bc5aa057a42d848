"""``bastion credentials`` against a real server: values are read from a file, standard
input or a hidden prompt, never from argv, and no command ever prints them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.servers import Server
from tests.vault.conftest import SECRET, leaks

pytestmark = pytest.mark.slow
ROTATED = "sk_live_from-stdin-0123456789"
FLOW = """
name: pay
owner: finance
trigger: {manual: {}}
steps:
  - id: shape
    transform: {value: {ok: true}}
"""


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(BASTION_DATA_DIR=str(tmp_path / "data"), BASTION_DATABASE_URL=database_url,
               COLUMNS="200", NO_COLOR="1")  # fmt: skip
    return env


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion.cli", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    assert cli(env, "init").returncode == 0
    scopes = "vault:credential:read,vault:credential:write,automations:automation:write"
    token = cli(env, "token", "create", "--name", "ops", "--scopes", scopes).stdout.strip()
    server = Server(env, tmp_path / "server.log")
    server.start()
    env.update(BASTION_URL=server.url, BASTION_TOKEN=token)
    yield server
    server.stop()


def test_credentials_commands_never_take_or_print_a_value(
    env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    value_file = tmp_path / "token.json"
    value_file.write_text(f'{{"token": "{SECRET}"}}')
    value_file.chmod(0o600)
    (tmp_path / "pay.yaml").write_text(FLOW)
    outputs = [cli(env, "apply", str(tmp_path / "pay.yaml"))]

    created = cli(env, "credentials", "create", "bank-api", "--kind", "bearer",
                  "--value-file", str(value_file), "--rotation-days", "30")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "credential bank-api created (bearer, version 1)" in created.stdout
    refused = cli(env, "credentials", "create", "other", "--kind", "bearer",
                  "--field", "token=on-the-command-line")  # fmt: skip
    assert refused.returncode == 5 and "never on the command line" in refused.stderr
    rotated = cli(env, "credentials", "rotate", "bank-api", "--value-file", "-",
                  stdin=ROTATED + "\n")  # fmt: skip
    assert "rotated to version 2" in rotated.stdout, rotated.stderr
    granted = cli(env, "credentials", "grant", "bank-api", "pay")
    assert "pay may use bank-api" in granted.stdout, granted.stderr
    outputs += [created, refused, rotated, granted]
    outputs += [cli(env, "credentials", c, *a) for c, *a in
                [("list",), ("show", "bank-api"), ("due",), ("revoke", "bank-api")]]  # fmt: skip
    for result in outputs:
        assert result.returncode in (0, 5), result.stderr
        assert leaks(result.stdout + result.stderr) == []
        assert leaks(result.stdout + result.stderr, ROTATED) == []
    assert '"state": "previous"' in outputs[6].stdout  # show lists both versions
    assert leaks(server.log.read_text()) == []
