"""Vault test helpers: a step kind that leases a credential, and credentials to lease.

The ``leasing`` fixture swaps the ``transform`` kind for one that, when its value
names a credential, declares it in ``needs`` and leases it through ``ctx.lease``
(as the http step will); every other transform step behaves as usual.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bastion import steps
from bastion.app import Services
from bastion.automations.definition import TransformOptions
from bastion.steps import Needs, StepContext, StepFailed, StepResult
from bastion.steps.transform import TransformStep
from bastion.vault import Lease
from tests.fixtures.services import OPERATOR

SECRET = "sk_live_Zq8v-Rt3/Kp9+Lm2=Wx7"  # every character class an encoding mangles


@dataclass
class Recorder:
    leases: list[tuple[str, Lease]] = field(default_factory=list)  # (execution id, lease)
    ran: list[str] = field(default_factory=list)  # execution ids whose step body ran
    hold: float = 0.0  # seconds a "use" step keeps its lease before finishing
    check: Callable[[Lease], bool] | None = None  # does the far side still accept it?


class LeasingStep:
    def __init__(self, options: dict[str, Any], recorder: Recorder) -> None:
        self._options = options
        self._recorder = recorder
        self.needs = Needs(credentials=frozenset({options["credential"]}))

    async def run(self, ctx: StepContext) -> StepResult:
        self._recorder.ran.append(ctx.execution_id)
        mode = self._options.get("mode", "use")
        if mode == "undeclared":
            await ctx.lease("cred:other-credential")
        lease = await ctx.lease(self._options["credential"])
        self._recorder.leases.append((ctx.execution_id, lease))
        if "url" in self._options:
            await ctx.http.get(self._options["url"])
        value = lease.values()[self._options.get("field", "token")]
        return await _act(mode, ctx, lease, value, self._recorder)


async def _act(mode: str, ctx: StepContext, lease: Lease, value: str, rec: Recorder) -> StepResult:
    if mode == "echo":
        ctx.log("info", f"calling with {value}", {"forms": encodings(value)})
        return StepResult(output={"token": value, "forms": encodings(value)})
    if mode == "fail":
        raise StepFailed(f"upstream refused {value} ({base64.b64encode(value.encode()).decode()})")
    if mode == "crash":
        raise RuntimeError(f"client blew up holding {value}")
    await asyncio.sleep(rec.hold)
    if rec.check is not None and not rec.check(lease):
        raise StepFailed(f"version {lease.version} was refused", code="rejected")
    return StepResult(output={"version": lease.version})


def encodings(value: str) -> dict[str, str]:
    """The forms an attacker (or a careless step) would use to smuggle a value out."""
    raw = value.encode()
    from urllib.parse import quote

    return {
        "raw": value,
        "b64": base64.b64encode(raw).decode(),
        "b64_nopad": base64.b64encode(raw).decode().rstrip("="),
        "b64url": base64.urlsafe_b64encode(raw).decode(),
        "b64url_nopad": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "basic": "Basic " + base64.b64encode(b"svc:" + raw).decode(),
        "url": quote(value, safe=""),
        "url_lower": quote(value, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "split": value[:9] + "\n" + value[9:],
        "split_indented": value[:5] + "\r\n    " + value[5:],
    }


def forms_of(value: str) -> list[str]:
    """Searchable forms (a split value is searched joined again)."""
    found = [v for k, v in encodings(value).items() if not k.startswith(("split", "basic"))]
    return [*found, base64.b64encode(b"svc:" + value.encode()).decode()[8:-4]]


def leaks(text: str, value: str = SECRET) -> list[str]:
    """Which forms of ``value`` appear in ``text`` (line breaks ignored)."""
    joined = text.replace("\r", "").replace("\n", "").replace(" ", "")
    return [form for form in forms_of(value) if form in text or form in joined]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()

    def transform(options: TransformOptions) -> Any:
        value = options.value
        if isinstance(value, dict) and "credential" in value:
            return LeasingStep(value, rec)
        return TransformStep(options)

    monkeypatch.setitem(steps.KINDS, "transform", transform)
    return rec


@pytest.fixture
def bearer(services: Services) -> str:
    services.vault.create("bank-api", "bearer", {"token": SECRET}, OPERATOR)
    return "bank-api"


def flow(
    name: str = "pay", *, mode: str = "use", credential: str = "cred:bank-api", **extra: Any
) -> str:
    options = {"credential": credential, "mode": mode, **extra}
    items = ", ".join(f"{k}: {v!r}" for k, v in options.items())
    return f"""
name: {name}
owner: finance
trigger: {{manual: {{}}}}
steps:
  - id: echo_input
    transform: {{value: $.trigger.body}}
  - id: pay
    transform: {{value: {{{items}}}}}
output: {{input: $.trigger.body, paid: $.steps.pay}}
"""


async def run_and_wait(svc: Services, name: str, payload: Any = None) -> Any:
    run = await svc.manual.run(name, payload, OPERATOR)
    finished = await svc.engine.wait(run, 10)
    assert finished is not None, "execution did not finish"
    return finished


def client_get(client: httpx.Client, path: str, token: str) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})
