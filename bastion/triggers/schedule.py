"""Cron schedules: time-zone aware, and never the same slot twice.

Each scheduled automation has a row holding its next slot. Firing inserts the
execution with ``dedupe_key = cron:<slot>`` (unique per automation) and moves the
row to the following slot in the same commit. After downtime the schedule fires
once for the missed slots (not once per missed slot), then carries on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bastion.audit import Actor
from bastion.automations import AutomationRow, AutomationService
from bastion.clock import Clock
from bastion.engine import Engine
from bastion.store.base import table_of
from bastion.store.db import Database
from bastion.store.writer import Changes
from bastion.triggers.models import ScheduleRow

log = logging.getLogger(__name__)
SCHEDULES = table_of(ScheduleRow)


def next_slot(cron: str, timezone: str, after: datetime) -> datetime:
    """The first slot strictly after ``after``, computed in the schedule's zone."""
    local = after.astimezone(ZoneInfo(timezone))
    nxt: datetime = croniter(cron, local).get_next(datetime)
    return nxt.astimezone(UTC)


class Scheduler:
    def __init__(
        self, db: Database, automations: AutomationService, engine: Engine, clock: Clock
    ) -> None:
        self._db, self._automations, self._engine, self._clock = db, automations, engine, clock

    async def tick(self) -> int:
        """Fire every due schedule once; returns how many executions started."""
        due = await asyncio.to_thread(self._sync_and_find_due)
        fired = 0
        for name, slot in due:
            fired += await self._fire(name, slot)
        return fired

    async def _fire(self, name: str, slot: datetime) -> int:
        current = self._automations.current(name)
        schedule = current.definition.trigger.schedule
        if schedule is None:
            return 0
        following = next_slot(schedule.cron, schedule.timezone, max(slot, self._clock.now()))
        advance = Changes().update(SCHEDULES, current.id, {"next_fire_at": following})
        payload = {"scheduled_for": slot.isoformat(), "input": schedule.input}
        try:
            await self._engine.submit(
                current, payload, trigger_kind="schedule", actor=Actor("schedule", None, name),
                dedupe_key=f"cron:{slot.isoformat()}", also=advance,
            )  # fmt: skip
        except IntegrityError:
            # Another scheduler fired this slot first; only move on to the next one.
            log.info("slot %s of %s already fired elsewhere", slot, name)
            await asyncio.to_thread(self._advance, current.id, following)
            return 0
        return 1

    def _advance(self, automation_id: str, following: datetime) -> None:
        with self._db.transaction() as session:
            row = session.get(ScheduleRow, automation_id)
            if row is not None and row.next_fire_at < following:
                row.next_fire_at = following

    def _sync_and_find_due(self) -> list[tuple[str, datetime]]:
        now = self._clock.now()
        with self._db.transaction() as session:
            autos = session.scalars(
                select(AutomationRow).where(AutomationRow.trigger_kind == "schedule")
            ).all()
            rows = {r.id: r for r in session.scalars(select(ScheduleRow))}
            due = []
            for auto in autos:
                row = self._synced(session, auto, rows.get(auto.id), now)
                if row is not None and auto.enabled and row.next_fire_at <= now:
                    due.append((auto.name, row.next_fire_at))
                elif row is not None and not auto.enabled and row.next_fire_at <= now:
                    row.next_fire_at = next_slot(row.cron, row.timezone, now)
        return due

    def _synced(
        self, session: object, auto: AutomationRow, row: ScheduleRow | None, now: datetime
    ) -> ScheduleRow | None:
        if row is not None and row.version == auto.current_version:
            return row
        schedule = self._automations.definition(auto.name).trigger.schedule
        if schedule is None:
            return None
        first = next_slot(schedule.cron, schedule.timezone, now)
        if row is None:
            row = ScheduleRow(
                id=auto.id, version=auto.current_version, cron=schedule.cron,
                timezone=schedule.timezone, next_fire_at=first,
            )  # fmt: skip
            session.add(row)  # type: ignore[attr-defined]
        else:
            row.version, row.cron, row.timezone = (
                auto.current_version,
                schedule.cron,
                schedule.timezone,
            )
            row.next_fire_at = first
        return row
