from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.store.base import Base


class AutomationGrantRow(Base):
    """An explicit grant (RBAC-2): this principal may see and use this automation,
    within the permissions it holds. Needed only for sensitive and critical ones."""

    __tablename__ = "automation_grants"
    __table_args__ = (
        UniqueConstraint("principal_kind", "principal_id", "automation_id", name="grantee"),
        CheckConstraint("principal_kind in ('user', 'token')", name="principal_kind"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[str] = mapped_column(String(64))
    # The automations table belongs to a higher layer; the link is by name only.
    automation_id: Mapped[str] = mapped_column(ForeignKey("automations.id"), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
