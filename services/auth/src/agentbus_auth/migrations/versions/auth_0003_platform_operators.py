"""Platform operators: ``platform:operate`` by an explicit grant instead of a configured email.

Revision ID: auth_0003
Revises: auth_0002
Create Date: 2026-12-06 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0003"
down_revision: str | None = "auth_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_operators",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False, comment="who ran the grant"),
        sa.Column(
            "granted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth.users.id"],
            name=op.f("fk_platform_operators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_platform_operators")),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("platform_operators", schema="auth")
