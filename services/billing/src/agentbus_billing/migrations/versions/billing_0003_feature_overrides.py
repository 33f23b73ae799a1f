"""Operators' per-tenant feature overrides.

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "billing_0003"
down_revision: str | None = "billing_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feature_overrides",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "feature"),
        schema="billing",
        comment="features an operator turned on or off for one tenant, whatever its plan says",
    )


def downgrade() -> None:
    op.drop_table("feature_overrides", schema="billing")
