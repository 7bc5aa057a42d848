"""ENC-2: no payload, step result, definition or token is ever written in clear.

Canary values go in through every door (definition, webhook body, step output,
step log, error text, API token) and the raw SQLite file and its WAL are then
searched byte for byte, in plain and in common encodings.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bastion.app import build, create_app
from bastion.authz import parse_scopes
from bastion.clock import FrozenClock
from bastion.settings import Settings
from tests.fixtures.services import OPERATOR

DEFINITION = """
name: canary-flow
owner: ops
trigger:
  webhook:
    respond: result
    schema: {type: object}
steps:
  - id: shape
    transform:
      value: {echo: $.trigger.body.secret, literal: CANARY-DEFINITION-7f3a}
  - id: note
    log: {message: CANARY-LOG-MESSAGE-2b8c, fields: {copy: $.trigger.body.secret}}
  - id: fail
    http: {url: 'https://127.0.0.1:1/CANARY-URL-PATH-9d1e'}
    timeout: 2s
output: $.steps.shape
"""


def raw_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("bastion.db*")))


def encodings(text: str) -> list[bytes]:
    raw = text.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw), text.encode("utf-16-le")]


def test_canaries_never_reach_the_database_file(sqlite_template: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "bastion.db").write_bytes(sqlite_template.read_bytes())
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'bastion.db'}")
    services = build(settings, FrozenClock(), migrate=False)
    from bastion.automations.loader import load_definition

    services.automations.apply(load_definition(DEFINITION), OPERATOR)
    token = services.tokens.create("canary", parse_scopes("*"), OPERATOR, ttl=None).token
    with TestClient(create_app(services, scheduler=False)) as client:
        r = client.post("/hooks/canary-flow", json={"secret": "CANARY-PAYLOAD-c41d"})
        assert r.status_code == 500  # the last step fails: its error is stored too
        listing = client.get("/api/v1/executions", headers={"Authorization": f"Bearer {token}"})
        assert listing.status_code == 200
    execution = services.engine.get(listing.json()[0]["id"])
    assert execution.steps[0]["output"]["echo"] == "CANARY-PAYLOAD-c41d"  # stored, and readable
    assert execution.steps[1]["logs"][0]["message"] == "CANARY-LOG-MESSAGE-2b8c"
    services.db.dispose()

    blob = raw_bytes(data)
    assert b"canary-flow" in blob  # the search works: names are stored in clear on purpose
    secret_part = token.split("_", 2)[2]
    canaries: list[Any] = [
        "CANARY-PAYLOAD-c41d", "CANARY-DEFINITION-7f3a", "CANARY-LOG-MESSAGE-2b8c",
        "CANARY-URL-PATH-9d1e", secret_part,
    ]  # fmt: skip
    for canary in canaries:
        for form in encodings(canary):
            assert form not in blob, f"{canary!r} found in the database file"
