"""The tenant lifecycle: a tenant's status (suspension, deprovisioning, deletion) and each service's
part of a deprovisioning.

Every existing tenant is ``active``. ``tenant_data_parts`` references the tenant row, which stays
as a tombstone once every part has deleted its data.

Revision ID: auth_0009
Revises: auth_0008
Create Date: 2026-12-07 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0009"
down_revision: str | None = "auth_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENTS = ("suspended_at", "deprovision_requested_at", "deleted_at")


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        schema="auth",
    )
    for moment in _MOMENTS:
        op.add_column(
            "tenants", sa.Column(moment, sa.DateTime(timezone=True), nullable=True), schema="auth"
        )
    op.add_column(
        "tenants",
        sa.Column("suspended_by", sa.Text(), nullable=True, comment="the operator who suspended"),
        schema="auth",
    )
    op.add_column(
        "tenants", sa.Column("suspension_reason", sa.Text(), nullable=True), schema="auth"
    )
    op.create_check_constraint(
        op.f("ck_tenants_status"),
        "tenants",
        "status IN ('active', 'suspended', 'deprovisioning', 'deleted')",
        schema="auth",
    )
    op.create_index(
        "ix_tenants_created_at_id", "tenants", ["created_at", "id"], unique=False, schema="auth"
    )
    op.create_table(
        "tenant_data_parts",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the service reported its part deleted",
        ),
        sa.Column("rows_deleted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["auth.tenants.id"],
            name=op.f("fk_tenant_data_parts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "service", name=op.f("pk_tenant_data_parts")),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("tenant_data_parts", schema="auth")
    op.drop_index("ix_tenants_created_at_id", table_name="tenants", schema="auth")
    op.drop_constraint(op.f("ck_tenants_status"), "tenants", schema="auth", type_="check")
    for column in ("suspension_reason", "suspended_by", *_MOMENTS, "status"):
        op.drop_column("tenants", column, schema="auth")
