from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class ApiTokenRow(Base):
    """An API token. The secret part is never stored, only its keyed digest."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lookup: Mapped[str] = mapped_column(String(24), unique=True)
    digest: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text)  # JSON list of permission names
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
