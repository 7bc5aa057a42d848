"""ENC-2: the key-encryption key rotates while a server keeps running and writing.

The running server follows the key file (it reloads it within a tick), so data
keys it makes during and after the rotation are readable, the old KEK is retired
only once nothing uses it, and after a restart everything still opens.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.fixtures.servers import Server, bastion

pytestmark = pytest.mark.slow

FLOW = """
name: echo
owner: ops
trigger: {webhook: {respond: result, schema: {type: object}}}
steps:
  - id: shape
    transform: {value: {got: $.trigger.body.n}}
output: $.steps.shape
"""


def post(server: Server, n: int) -> None:
    r = httpx.post(f"{server.url}/hooks/echo", json={"n": n}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"got": n})


def test_rotation_under_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "BASTION_DATA_DIR": str(data), "BASTION_SCHEDULER_INTERVAL_SECONDS": "0.1"}
    env.pop("BASTION_DATABASE_URL", None)  # the embedded layout: the key file beside SQLite
    assert bastion(env, "init").returncode == 0
    token = bastion(env, "token", "create", "--name", "t", "--scopes", "*").stdout.strip()
    (tmp_path / "echo.yaml").write_text(FLOW)
    server = Server(env, tmp_path / "server.log")
    env_cli = {**env, "BASTION_URL": server.url, "BASTION_TOKEN": token}
    old_kek = json.loads((data / "master.key").read_text())["active"]
    try:
        server.start()
        assert bastion(env_cli, "apply", str(tmp_path / "echo.yaml")).returncode == 0
        for n in range(5):
            post(server, n)
        rotated = bastion(env, "keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        for n in range(5, 10):
            post(server, n)
        keyfile = json.loads((data / "master.key").read_text())
        assert keyfile["active"] != old_kek and old_kek not in keyfile["keys"]
        server.stop()
        server.start()  # a fresh process knows only the new KEK
        listing = httpx.get(
            f"{server.url}/api/v1/executions", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert len(listing) == 10
        for item in listing:
            shown = httpx.get(
                f"{server.url}/api/v1/executions/{item['id']}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert shown.status_code == 200 and shown.json()["output"]["got"] in range(10)
        post(server, 10)
    finally:
        server.stop()
    assert bastion(env, "audit", "verify").returncode == 0
