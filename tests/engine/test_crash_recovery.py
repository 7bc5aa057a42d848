"""A real server is killed with SIGKILL in the middle of executions.

After a restart every accepted execution finishes exactly once, resuming after
its last finished step; the step that was in flight runs again with the same
idempotency key, and the audit chain is intact.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text
from werkzeug import Request, Response

from tests.fixtures.servers import Server, free_port

pytestmark = pytest.mark.slow

DEFINITION = """
name: slow-flow
owner: ops
trigger:
  webhook: {{respond: accepted, schema: {{type: object, required: [n]}}}}
steps:
  - id: first
    transform: {{value: {{n: $.trigger.body.n}}}}
  - id: call
    timeout: 20s
    http:
      method: POST
      url: {url}
      json: $.steps.first
  - id: last
    transform: {{value: {{done: $.steps.first.n}}}}
"""

ACCEPTED = 24


@pytest.fixture
def upstream() -> Iterator[tuple[HTTPServer, list[str]]]:
    """A slow downstream service that records every idempotency key it sees."""
    seen: list[str] = []
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            seen.append(request.headers.get("Idempotency-Key", ""))
        time.sleep(0.4)
        return Response('{"ok": true}', content_type="application/json")

    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.expect_request("/work", method="POST").respond_with_handler(handler)
    server.start()
    yield server, seen
    server.clear()
    server.stop()


def test_sigkill_mid_execution_loses_nothing(
    tmp_path: Path, database_url: str, upstream: tuple[HTTPServer, list[str]]
) -> None:
    server_http, seen = upstream
    env = {
        **os.environ,
        "BASTION_DATA_DIR": str(tmp_path / "data"),
        "BASTION_DATABASE_URL": database_url,
    }
    env["BASTION_WORKERS"] = "4"
    # The upstream listens on 127.0.0.1 over plain HTTP: allowed as in tests.fixtures.services.
    env["BASTION_EGRESS_ALLOW_INTERNAL"] = "127.0.0.1/32"
    env["BASTION_EGRESS_PLAIN_HTTP_HOSTS"] = "127.0.0.1"
    port = free_port()
    server = Server(env, tmp_path / "server.log", port)
    (tmp_path / "flow.yaml").write_text(DEFINITION.format(url=server_http.url_for("/work")))
    apply_locally(env, tmp_path / "flow.yaml")
    try:
        server.start()
        accepted = post_all(port)
        wait_until(lambda: len(seen) >= 3, 10)
        server.kill()
        in_db = states(database_url)
        assert set(accepted) == set(in_db), "every 202 was committed before it was sent"
        assert any(s != "succeeded" for s in in_db.values()), "the kill hit executions mid-way"
        server.start()
        wait_until(lambda: set(states(database_url).values()) == {"succeeded"}, 60)
    finally:
        server.stop()
    assert_finished_exactly_once(database_url, accepted)
    assert set(seen) == {f"{e}:call" for e in accepted}, "each call carried its idempotency key"
    verify = subprocess.run(
        [sys.executable, "-m", "bastion.cli", "audit", "verify"], env=env, capture_output=True
    )
    assert verify.returncode == 0, verify.stderr


def apply_locally(env: dict[str, str], path: Path) -> None:
    script = (
        "import sys; from bastion.app import build; from bastion.settings import Settings;"
        "from bastion.audit import Actor; from bastion.automations.loader import load_definition;"
        "s = build(Settings()); "
        "s.automations.apply(load_definition(open(sys.argv[1]).read()), Actor('cli', None, 't'))"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True)


def post_all(port: int) -> list[str]:
    accepted = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for n in range(ACCEPTED):
            r = client.post("/hooks/slow-flow", json={"n": n})
            assert r.status_code == 202, r.text
            accepted.append(r.json()["execution_id"])
    return accepted


def wait_until(predicate: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def states(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("select id, state from executions")).all())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def assert_finished_exactly_once(url: str, accepted: list[str]) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select execution_id, step_id, count(*) from step_runs "
                "where state = 'succeeded' group by execution_id, step_id"
            )
        ).all()
        finished = conn.execute(
            text("select subject_id, count(*) from audit_events "
                 "where tag = 'engine:execution:succeeded' group by subject_id")
        ).all()  # fmt: skip
    engine.dispose()
    per_execution: dict[str, dict[str, int]] = {}
    for execution_id, step_id, count in rows:
        per_execution.setdefault(execution_id, {})[step_id] = count
    assert set(per_execution) == set(accepted)
    for steps in per_execution.values():
        assert steps == {"first": 1, "call": 1, "last": 1}
    assert dict(finished) == dict.fromkeys(accepted, 1)
