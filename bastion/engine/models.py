from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class ExecutionRow(Base):
    """One run of one automation version. Payloads are sealed under the execution's data key."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("automation_id", "dedupe_key", name="dedupe"),
        Index("ix_executions_state_wake", "state", "wake_at"),
        Index("ix_executions_automation_created", "automation_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    automation_id: Mapped[str] = mapped_column(ForeignKey("automations.id"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    trigger_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    data_key_id: Mapped[str] = mapped_column(String(32))
    input: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)  # sealed message
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime]
    wake_at: Mapped[datetime | None]


class StepRunRow(Base):
    """One attempt of one step, written (sealed) before the next step starts."""

    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("execution_id", "step_id", "attempt", name="attempt"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # succeeded | failed | skipped
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    output: Mapped[str | None] = mapped_column(Text)
    logs: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
