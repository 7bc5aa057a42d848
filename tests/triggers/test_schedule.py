"""Cron schedules: time-zone aware, once per slot, never twice after a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bastion.app import Services, running
from bastion.clock import FrozenClock
from bastion.engine import ExecutionRow
from bastion.triggers import Scheduler
from bastion.triggers.schedule import next_slot

DAILY_PARIS = """
name: morning-report
owner: ops
trigger:
  schedule: {cron: "0 9 * * *", timezone: Europe/Paris, input: {report: daily}}
steps:
  - id: note
    transform: {value: {for: $.trigger.body.scheduled_for, what: $.trigger.body.input.report}}
"""


def test_slots_are_computed_in_the_schedule_time_zone() -> None:
    winter = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris: today's 09:00 has passed
    assert next_slot("0 9 * * *", "Europe/Paris", winter) == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert next_slot("0 9 * * *", "Europe/Paris", summer) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def fired(services: Services) -> list[ExecutionRow]:
    with services.db.reader() as s:
        return list(s.scalars(select(ExecutionRow).order_by(ExecutionRow.created_at)))


def tick(services: Services, scheduler: Scheduler | None = None) -> int:
    async def go() -> int:
        async with running(services, scheduler=False):
            return await (scheduler or services.scheduler).tick()

    return asyncio.run(go())


def test_fires_once_per_slot_and_not_again_after_a_restart(
    services: Services, apply: Any, clock: FrozenClock
) -> None:
    apply(DAILY_PARIS)
    assert tick(services) == 0  # registers the schedule: next slot tomorrow 08:00 UTC
    clock.advance(timedelta(hours=22, minutes=59))
    assert tick(services) == 0
    clock.advance(timedelta(minutes=2))
    assert tick(services) == 1
    assert tick(services) == 0
    restarted = Scheduler(services.db, services.automations, services.engine, clock)
    assert tick(services, restarted) == 0
    rows = fired(services)
    assert len(rows) == 1
    assert rows[0].dedupe_key == "cron:2026-01-06T08:00:00+00:00"
    assert services.engine.get(rows[0].id).input == {
        "scheduled_for": "2026-01-06T08:00:00+00:00", "input": {"report": "daily"},
    }  # fmt: skip


def test_after_downtime_missed_slots_fire_once(
    services: Services, apply: Any, clock: FrozenClock
) -> None:
    apply(DAILY_PARIS)
    tick(services)
    clock.advance(timedelta(days=5))
    assert tick(services) == 1
    assert tick(services) == 0
    assert len(fired(services)) == 1


def test_disabled_schedules_do_not_fire_or_pile_up(
    services: Services, apply: Any, clock: FrozenClock
) -> None:
    from tests.fixtures.services import OPERATOR

    apply(DAILY_PARIS)
    tick(services)
    services.automations.set_enabled("morning-report", False, OPERATOR)
    clock.advance(timedelta(days=3))
    assert tick(services) == 0
    services.automations.set_enabled("morning-report", True, OPERATOR)
    assert tick(services) == 0, "slots missed while disabled are not fired on enable"
    assert fired(services) == []
