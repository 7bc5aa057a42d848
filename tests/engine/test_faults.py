"""Retries with backoff, timeouts, deadlines, durable waits and cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bastion.app import Services, running
from bastion.clock import FrozenClock
from bastion.engine import State
from bastion.engine.runner import backoff
from tests.fixtures.services import OPERATOR

FLAKY = """
name: flaky
owner: ops
trigger: {{manual: {{}}}}
steps:
  - id: call
    retry: {{attempts: {attempts}, backoff: 2s, max_backoff: 1m}}
    timeout: {timeout}
    http: {{method: POST, url: "{url}"}}
"""


def flaky_server(upstream: HTTPServer, failures: int, delay: float = 0.0) -> list[str]:
    calls: list[str] = []
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            calls.append(request.headers.get("Idempotency-Key", ""))
            n = len(calls)
        time.sleep(delay)
        if n <= failures:
            return Response("busy", status=503)
        return Response('{"ok": true}', content_type="application/json")

    upstream.expect_request("/op").respond_with_handler(handler)
    return calls


def run_manual(services: Services, name: str, payload: Any = None, wait: float = 10) -> Any:
    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run(name, payload, OPERATOR)
            return await services.engine.wait(run, wait)

    return asyncio.run(go())


def test_retries_with_backoff_until_success(
    services: Services, apply: Any, clock: FrozenClock, upstream: HTTPServer
) -> None:
    calls = flaky_server(upstream, failures=2)
    apply(FLAKY.format(attempts=3, timeout="5s", url=upstream.url_for("/op")))
    start = clock.now()
    run = run_manual(services, "flaky")
    assert run.state == State.succeeded
    assert len(calls) == 3 and len(set(calls)) == 1, "one idempotency key across attempts"
    attempts = services.engine.get(run.id).steps
    assert [(s["attempt"], s["state"], s["error_code"]) for s in attempts] == [
        (1, "failed", "unexpected_status"),
        (2, "failed", "unexpected_status"),
        (3, "succeeded", None),
    ]
    waited = (clock.now() - start).total_seconds()
    assert 1 + 2 <= waited <= 2 + 4, "equal-jitter backoff of 2s then 4s, on the injected clock"


def test_gives_up_after_the_last_attempt(
    services: Services, apply: Any, upstream: HTTPServer
) -> None:
    calls = flaky_server(upstream, failures=10)
    apply(FLAKY.format(attempts=2, timeout="5s", url=upstream.url_for("/op")))
    run = run_manual(services, "flaky")
    assert (run.state, run.error_code, len(calls)) == (State.failed, "unexpected_status", 2)


def test_backoff_grows_and_is_capped() -> None:
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 30.0)]:
        delay = backoff(attempt, "1s", "30s")
        assert ceiling / 2 <= delay <= ceiling


def test_a_step_that_exceeds_its_timeout_fails(
    services: Services, apply: Any, upstream: HTTPServer
) -> None:
    flaky_server(upstream, failures=0, delay=2.0)
    apply(FLAKY.format(attempts=1, timeout="1s", url=upstream.url_for("/op")))
    run = run_manual(services, "flaky")
    assert (run.state, run.error_code) == (State.failed, "timeout")


WAITER = """
name: cool-off
owner: ops
deadline: 2h
trigger: {manual: {}}
steps:
  - id: first
    transform: {value: {x: 1}}
  - id: pause
    wait: {for: 30m}
  - id: after
    transform: {value: {y: $.steps.first.x}}
"""


def test_waits_are_durable_timers(services: Services, apply: Any, clock: FrozenClock) -> None:
    apply(WAITER)

    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("cool-off", None, OPERATOR)
            assert await services.engine.wait(run, 0.5) is None
            assert run.state == State.waiting
            assert await services.engine.wake_due() == 0, "not due yet"
            clock.advance(timedelta(minutes=31))
            return run.id

    execution_id = asyncio.run(go())  # the process "stops" while the execution waits

    async def resume() -> Any:
        async with running(services, scheduler=False):
            assert await services.engine.wake_due() == 1
            for _ in range(200):
                view = services.engine.get(execution_id)
                if view.row.state == "succeeded":
                    return view
                await asyncio.sleep(0.01)
            raise AssertionError("did not resume")

    view = asyncio.run(resume())
    assert view.output == {"y": 1}
    assert [s["step_id"] for s in view.steps] == ["first", "pause", "after"]


def test_the_execution_deadline_fails_a_waiting_run(
    services: Services, apply: Any, clock: FrozenClock
) -> None:
    apply(WAITER.replace("wait: {for: 30m}", "wait: {for: 3h}"))

    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("cool-off", None, OPERATOR)
            await services.engine.wait(run, 0.5)
            clock.advance(timedelta(hours=3, minutes=1))
            await services.engine.wake_due()
            return await services.engine.wait(run, 5) or services.engine.get(run.id)

    asyncio.run(go())
    rows = services.engine.list()
    assert (rows[0].state, rows[0].error_code) == ("failed", "deadline_exceeded")


def test_cancel_a_waiting_execution(services: Services, apply: Any) -> None:
    apply(WAITER)

    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("cool-off", None, OPERATOR)
            await services.engine.wait(run, 0.5)
            assert await services.engine.cancel(run.id, OPERATOR) == State.cancelled
            with pytest.raises(Exception, match="already"):
                await services.engine.cancel(run.id, OPERATOR)
            return run.id

    execution_id = asyncio.run(go())
    assert services.engine.get(execution_id).row.state == "cancelled"
    tags = [e.tag for e in services.audit.list(subject_id=execution_id)]
    assert tags[-1] == "engine:execution:cancelled"


def test_cancel_a_running_execution(services: Services, apply: Any, upstream: HTTPServer) -> None:
    flaky_server(upstream, failures=0, delay=3.0)
    apply(FLAKY.format(attempts=1, timeout="10s", url=upstream.url_for("/op")))

    async def go() -> Any:
        async with running(services, scheduler=False):
            run = await services.manual.run("flaky", None, OPERATOR)
            await asyncio.sleep(0.3)
            assert await services.engine.cancel(run.id, OPERATOR) == State.cancelled
            return await services.engine.wait(run, 5)

    run = asyncio.run(go())
    assert run.state == State.cancelled
    assert services.engine.get(run.id).row.state == "cancelled"
