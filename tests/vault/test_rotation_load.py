"""SA-3: credentials rotate while executions run, with zero failed executions.

Each execution leases the credential and holds it for a while, as a slow call
would, while rotations happen. The far side accepts only versions the vault still
counts as valid (active, or previous within its grace period), so an execution
whose version was retired under it would fail."""

from __future__ import annotations

import asyncio
from typing import Any

from bastion.app import Services
from bastion.engine import State
from bastion.vault import Lease
from tests.fixtures.services import OPERATOR
from tests.vault.conftest import Recorder, flow, run_and_wait

EXECUTIONS = 50
ROTATIONS = 10


def test_executions_keep_working_while_the_credential_rotates(
    services: Services, apply: Any, live: Any, recorder: Recorder, bearer: str
) -> None:
    apply(flow("pay"))
    services.vault.grant(bearer, "pay", OPERATOR)

    def still_valid(lease: Lease) -> bool:
        versions = services.vault.show(bearer).versions
        return any(v.version == lease.version and v.state != "retired" for v in versions)

    recorder.hold, recorder.check = 0.02, still_valid

    async def go(svc: Services) -> list[Any]:
        runs = [asyncio.create_task(run_and_wait(svc, "pay")) for _ in range(EXECUTIONS)]
        for n in range(ROTATIONS):
            await asyncio.sleep(0.01)
            secret = {"token": f"sk_live_rotation-{n:02d}-0123456789"}
            await asyncio.to_thread(svc.vault.rotate, bearer, secret, OPERATOR)
        return await asyncio.gather(*runs)

    runs = live(go)
    failed = [(r.error_code, r.error_message) for r in runs if r.state != State.succeeded]
    assert failed == []
    versions = {lease.version for _, lease in recorder.leases}
    assert len(recorder.leases) == EXECUTIONS
    assert len(versions) > 1, "no execution saw a rotation: the test proves nothing"
    assert services.vault.show(bearer).version == ROTATIONS + 1
    assert len(services.audit.list(tag="vault:credential:leased", limit=1000)) == EXECUTIONS
    assert services.audit.verify().ok
