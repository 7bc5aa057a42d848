"""vault: credentials, their sealed versions, and grants to automations

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = (
    "kind in ('api_key', 'basic', 'bearer', 'oauth2_client_credentials', 'database', "
    "'webhook_secret', 'smtp')"
)


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("data_key_id", sa.String(length=32), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("rotation_period_days", sa.Integer(), nullable=True),
        _when("rotated_at"),
        _when("overdue_recorded_at", nullable=True),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_credentials_kind")),
        sa.CheckConstraint(
            "rotation_period_days is null or rotation_period_days > 0",
            name=op.f("ck_credentials_rotation_period"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("name", name=op.f("uq_credentials_name")),
    )
    op.create_table(
        "credential_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("credential_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("retire_after", nullable=True),
        sa.CheckConstraint(
            "state in ('active', 'previous', 'retired')", name=op.f("ck_credential_versions_state")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_versions_credential_id_credentials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_versions")),
        sa.UniqueConstraint(
            "credential_id", "version", name=op.f("uq_credential_versions_credential_id")
        ),
    )
    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credential_versions_state_retire_after", ["state", "retire_after"], unique=False
        )

    op.create_table(
        "credential_grants",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("credential_id", sa.String(length=32), nullable=False),
        sa.Column("automation_id", sa.String(length=32), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        _when("granted_at"),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automations.id"],
            name=op.f("fk_credential_grants_automation_id_automations"),
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_grants_credential_id_credentials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_grants")),
        sa.UniqueConstraint(
            "credential_id", "automation_id", name=op.f("uq_credential_grants_credential_id")
        ),
    )
    with op.batch_alter_table("credential_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_grants_automation_id"), ["automation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_grants_automation_id"))
    op.drop_table("credential_grants")
    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_versions_state_retire_after")
    op.drop_table("credential_versions")
    op.drop_table("credentials")
