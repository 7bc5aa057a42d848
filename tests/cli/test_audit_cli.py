"""AUD-6, API-1, ENC-2 through the real ``bastion`` command, run as a subprocess:
tokens are printed once, ``audit verify`` catches tampering (exit 8) online and
offline on an export, and ``keys rotate`` re-wraps every data key."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bastion.app import build
from bastion.authz import TOKEN_PERMISSIONS
from bastion.settings import Settings

BASTION = Path(sys.executable).parent / "bastion"
TOKEN = re.compile(r"^bst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")

Run = Callable[..., subprocess.CompletedProcess[str]]


def _env(**bastion: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update({f"BASTION_{k.upper()}": v for k, v in bastion.items()})
    env.update(COLUMNS="200", NO_COLOR="1")
    return env


def _runner(env: dict[str, str]) -> Run:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BASTION), *args], env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    return run


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def bastion(data_dir: Path, database_url: str) -> Run:
    """``bastion`` on the test's database; the key file lives in ``data_dir``."""
    return _runner(_env(data_dir=str(data_dir), database_url=database_url))


def _sql(url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _token(run: Run, name: str) -> str:
    created = run("token", "create", "--name", name, "--scopes", "*")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_token_create_prints_the_token_once_on_stdout(
    bastion: Run, data_dir: Path, database_url: str
) -> None:
    assert "data directory:" in _ok(bastion("init"))
    created = bastion("token", "create", "--name", "t", "--scopes", "*")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and TOKEN.match(lines[0])
    assert "shown once" in created.stderr and lines[0] not in created.stderr
    services = build(Settings(data_dir=data_dir, database_url=database_url))
    try:
        principal = services.tokens.authenticate(lines[0])
    finally:
        services.db.dispose()
    assert (principal.name, principal.permissions) == ("t", TOKEN_PERMISSIONS)


def test_token_create_refuses_an_unknown_scope(bastion: Run) -> None:
    _ok(bastion("init"))
    result = bastion("token", "create", "--name", "t", "--scopes", "audit:event:delete")
    assert "unknown scope 'audit:event:delete'" in result.stderr
    assert result.stdout == ""
    # HND-3 on the command line: the error, mapped to its exit status, and no internals.
    assert "Traceback" not in result.stderr and ".py" not in result.stderr
    assert result.returncode == 5  # Invalid, as for every other invalid input


def test_audit_verify_names_the_event_edited_with_sql(bastion: Run, database_url: str) -> None:
    _ok(bastion("init"))
    _token(bastion, "first")
    _token(bastion, "second")
    # init issues the first administrator's setup token (event 1), then two tokens.
    assert "audit chain intact: 3 events verified (up to 3)" in _ok(bastion("audit", "verify"))

    _sql(database_url, "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2")
    [(event_id,)] = _sql(database_url, "SELECT id FROM audit_events WHERE seq = 2")
    result = bastion("audit", "verify")
    assert result.returncode == 8
    assert f"audit chain broken at event 2 ({event_id})" in result.stderr
    assert "edited" in result.stderr
    assert "events 1..1 verified before the break" in result.stderr


def test_audit_verify_catches_a_deleted_last_event(bastion: Run, database_url: str) -> None:
    _ok(bastion("init"))
    _token(bastion, "first")
    _token(bastion, "second")
    _sql(database_url, "DELETE FROM audit_events WHERE seq = 2")
    result = bastion("audit", "verify")
    assert result.returncode == 8
    assert "audit chain broken at event 2" in result.stderr


def _export(run: Run, target: Path, count: int) -> list[dict[str, object]]:
    """The events of a fresh export (the file may hold other records too)."""
    assert f"{count} events written to" in _ok(run("audit", "export", str(target)))
    records = [json.loads(line) for line in target.read_text().splitlines()]
    return [r for r in records if "seq" in r]


def _offline(tmp_path: Path) -> Run:
    """``bastion`` with no reachable database and no data directory."""
    env = _env(
        data_dir=str(tmp_path / "absent"),
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
    )
    return _runner(env)


def test_an_export_verifies_offline(bastion: Run, tmp_path: Path) -> None:
    _ok(bastion("init"))
    for name in ("a", "b", "c"):
        _token(bastion, name)
    export = tmp_path / "audit.jsonl"
    rows = _export(bastion, export, 4)  # init's setup token, then the three tokens
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert {r["tag"] for r in rows} == {"identity:setup_token:issued", "identity:token:created"}

    offline = _offline(tmp_path)
    result = offline("audit", "verify", "--file", str(export))
    assert "audit chain intact: 4 events verified (up to 4)" in _ok(result)
    assert not (tmp_path / "absent").exists()


def test_an_edited_export_fails_offline_naming_the_event(bastion: Run, tmp_path: Path) -> None:
    _ok(bastion("init"))
    for name in ("a", "b", "c"):
        _token(bastion, name)
    export = tmp_path / "audit.jsonl"
    rows = _export(bastion, export, 4)
    records = [json.loads(line) for line in export.read_text().splitlines()]
    for record in records:
        if record.get("seq") == 2:
            record["actor_name"] = "mallory"
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = _offline(tmp_path)("audit", "verify", "--file", str(export))
    assert result.returncode == 8
    assert f"audit chain broken at event 2 ({rows[1]['id']})" in result.stderr


def test_a_truncated_export_fails_offline(bastion: Run, tmp_path: Path) -> None:
    # AUD-6: verify detects any deletion, and can run offline on an export. An
    # export cut after event 2 must not pass as the whole log.
    _ok(bastion("init"))
    for name in ("a", "b", "c"):
        _token(bastion, name)
    export = tmp_path / "audit.jsonl"
    _export(bastion, export, 4)
    lines = export.read_text().splitlines(keepends=True)
    export.write_text("".join(line for line in lines if json.loads(line).get("seq") != 3))
    result = _offline(tmp_path)("audit", "verify", "--file", str(export))
    assert result.returncode == 8, result.stdout


def _key_file(data_dir: Path) -> dict[str, object]:
    path = data_dir / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc: dict[str, object] = json.loads(path.read_text())
    return doc


def test_keys_rotate_rewraps_every_data_key_and_retires_the_old_kek(tmp_path: Path) -> None:
    data_dir = tmp_path / "embedded"  # the embedded layout: SQLite file beside the key file
    run = _runner(_env(data_dir=str(data_dir), scheduler_interval_seconds="0.05"))
    _ok(run("init"))
    token = _token(run, "before-rotation")
    before = _key_file(data_dir)
    old = before["active"]
    assert list(before["keys"]) == [old]  # type: ignore[call-overload]

    output = _ok(run("keys", "rotate"))
    after = _key_file(data_dir)
    new = after["active"]
    assert new != old
    assert list(after["keys"]) == [new]  # type: ignore[call-overload]
    assert f"new key-encryption key {new} is active" in output
    assert f"retired {old}" in output

    db = sqlite3.connect(data_dir / "bastion.db")
    try:
        keks = db.execute("SELECT kek_id, count(*) FROM data_keys GROUP BY kek_id").fetchall()
        wrapped = [w for (w,) in db.execute("SELECT wrapped FROM data_keys")]
        rotated = db.execute("SELECT data FROM audit_events WHERE tag = 'crypto:kek:rotated'")
        [(data,)] = rotated.fetchall()
    finally:
        db.close()
    assert keks == [(new, len(wrapped))] and len(wrapped) >= 2  # audit key, token pepper
    assert all(w.startswith(f"v1:{new}:") for w in wrapped)
    assert f"re-wrapped {len(wrapped)} data keys" in output
    assert json.loads(data) == {"active": new, "rewrapped": len(wrapped), "retired": [old]}

    assert "audit chain intact: 3 events verified" in _ok(run("audit", "verify"))
    services = build(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bastion.db'}")
    )
    try:
        assert services.tokens.authenticate(token).name == "before-rotation"
    finally:
        services.db.dispose()


def test_keys_rotate_is_refused_for_an_environment_key(tmp_path: Path) -> None:
    import base64

    key = base64.b64encode(bytes(range(32))).decode()
    run = _runner(_env(data_dir=str(tmp_path / "env"), master_key=key))
    _ok(run("init"))
    result = run("keys", "rotate")
    assert result.returncode == 5
    assert "BASTION_MASTER_KEY" in result.stderr
    assert not (tmp_path / "env" / "master.key").exists()
