"""Resuming and stopping executions at awkward moments, in-process."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bastion.app import Services, build, running
from bastion.clock import FrozenClock
from bastion.engine import State
from bastion.settings import Settings
from tests.fixtures.services import OPERATOR

FLAKY = """
name: flaky
owner: ops
trigger: {{manual: {{}}}}
steps:
  - id: call
    retry: {{attempts: 3, backoff: 10s}}
    http: {{method: POST, url: "{url}"}}
  - id: after
    transform: {{value: {{ok: true}}}}
"""


class StuckClock(FrozenClock):
    """A clock whose sleeps never end: the process 'dies' during a retry backoff."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


def failing_once(upstream: HTTPServer) -> list[int]:
    calls: list[int] = []

    def handler(_request: Request) -> Response:
        calls.append(1)
        return Response("busy", status=503) if len(calls) == 1 else Response("{}", status=200)

    upstream.expect_request("/op").respond_with_handler(handler)
    return calls


def test_resume_during_a_retry_continues_the_attempt_count(
    settings: Settings, services: Services, apply: Any, upstream: HTTPServer
) -> None:
    calls = failing_once(upstream)
    apply(FLAKY.format(url=upstream.url_for("/op")))
    first_life = build(settings, StuckClock(), migrate=False)

    async def crash_in_backoff() -> str:
        async with running(first_life, scheduler=False):
            run = await first_life.manual.run("flaky", None, OPERATOR)
            for _ in range(200):
                if calls:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            return run.id

    execution_id = asyncio.run(crash_in_backoff())
    first_life.db.dispose()
    assert services.engine.get(execution_id).row.state == "running"

    async def second_life() -> Any:
        async with running(services, scheduler=False):
            for _ in range(300):
                view = services.engine.get(execution_id)
                if view.row.state != "running":
                    return view
                await asyncio.sleep(0.01)
        raise AssertionError("not resumed")

    view = asyncio.run(second_life())
    assert view.row.state == "succeeded"
    assert [(s["step_id"], s["attempt"], s["state"]) for s in view.steps] == [
        ("call", 1, "failed"), ("call", 2, "succeeded"), ("after", 1, "succeeded"),
    ]  # fmt: skip


def test_an_output_that_points_back_into_the_context_is_a_copy(
    services: Services, apply: Any
) -> None:
    apply(
        """
name: self-ref
owner: ops
trigger: {manual: {}}
steps:
  - id: one
    transform: {value: {a: 1}}
  - id: two
    transform: {value: $.steps}
  - id: three
    transform: {value: $.steps}
"""
    )

    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("self-ref", None, OPERATOR)
            return await services.engine.wait(run, 5)

    run = asyncio.run(go())
    assert run.state == State.succeeded
    assert run.output == {"one": {"a": 1}, "two": {"one": {"a": 1}}}


def test_cancel_while_waiting_for_a_worker_slot(
    settings: Settings, clock: FrozenClock, apply: Any, upstream: HTTPServer
) -> None:
    release = threading.Event()

    def slow(_request: Request) -> Response:
        release.wait(5)
        time.sleep(0.05)
        return Response("{}", status=200)

    upstream.expect_request("/op").respond_with_handler(slow)
    apply(FLAKY.format(url=upstream.url_for("/op")))
    one_slot = build(settings.model_copy(update={"workers": 1}), clock, migrate=False)

    async def go() -> tuple[Any, Any]:
        async with running(one_slot, scheduler=False):
            busy = await one_slot.manual.run("flaky", None, OPERATOR)
            queued = await one_slot.manual.run("flaky", None, OPERATOR)
            await asyncio.sleep(0.1)
            assert await one_slot.engine.cancel(queued.id, OPERATOR) == State.cancelled
            stopped = await one_slot.engine.wait(queued, 5)
            release.set()
            return stopped, await one_slot.engine.wait(busy, 5)

    stopped, finished = asyncio.run(go())
    assert stopped.state == State.cancelled
    assert one_slot.engine.get(stopped.id).row.state == "cancelled"
    assert finished.state == State.succeeded
    one_slot.db.dispose()
