from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class ScheduleRow(Base):
    """When a scheduled automation fires next. Advanced in the same commit as the
    execution it starts, so a restart never fires the same slot twice."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(ForeignKey("automations.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    next_fire_at: Mapped[datetime] = mapped_column(index=True)
