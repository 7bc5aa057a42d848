from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class AutomationRow(Base):
    __tablename__ = "automations"
    __table_args__ = (
        CheckConstraint(
            "sensitivity in ('low', 'normal', 'sensitive', 'critical')", name="sensitivity"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(200))
    sensitivity: Mapped[str] = mapped_column(String(16))
    trigger_kind: Mapped[str] = mapped_column(String(16), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    current_version: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class AutomationVersionRow(Base):
    """An immutable version: rows are inserted, never updated."""

    __tablename__ = "automation_versions"
    __table_args__ = (UniqueConstraint("automation_id", "version", name="version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    automation_id: Mapped[str] = mapped_column(ForeignKey("automations.id"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    definition: Mapped[str] = mapped_column(Text)  # sealed YAML-equivalent JSON document
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
