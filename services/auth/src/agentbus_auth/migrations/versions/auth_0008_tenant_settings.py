"""Tenant settings and slugs, revocable invites, and the tenant's audit log in time order.

Every existing tenant gets a slug from its name (lowercase letters, digits and hyphens, 3 to
40 characters); a name whose slug is taken by an older tenant gets the end of its id appended.

Revision ID: auth_0008
Revises: auth_0007
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "auth_0008"
down_revision: str | None = "auth_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_SLUGS = """
WITH base AS (
    SELECT id, created_at,
           trim(BOTH '-' FROM left(
               trim(BOTH '-' FROM regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')), 30
           )) AS stem
    FROM auth.tenants
), named AS (
    SELECT id, created_at,
           CASE WHEN length(stem) < 3 THEN concat_ws('-', nullif(stem, ''), 'team') ELSE stem END
               AS slug
    FROM base
), ranked AS (
    SELECT id, slug, row_number() OVER (PARTITION BY slug ORDER BY created_at, id) AS rank
    FROM named
)
UPDATE auth.tenants AS t
SET slug = CASE WHEN r.rank = 1 THEN r.slug
                ELSE r.slug || '-' || lower(right(regexp_replace(t.id, '[^A-Za-z0-9]', '', 'g'), 8))
           END
FROM ranked AS r
WHERE r.id = t.id
"""


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("slug", sa.Text(), nullable=True, comment="unique short name, set by admins"),
        schema="auth",
    )
    op.execute(sa.text(_BACKFILL_SLUGS))
    op.alter_column("tenants", "slug", nullable=False, schema="auth")
    op.create_unique_constraint(op.f("uq_tenants_slug"), "tenants", ["slug"], schema="auth")
    op.add_column(
        "invites",
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="withdrawn by an admin: never accepted",
        ),
        schema="auth",
    )
    op.create_index(
        "ix_audit_events_tenant_id",
        "audit_events",
        ["tenant_id", "occurred_at"],
        unique=False,
        schema="auth",
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("billing_email", sa.Text(), nullable=True),
        sa.Column(
            "contacts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "webhook_url",
            sa.Text(),
            nullable=True,
            comment="validated when set; delivered to by a later release",
        ),
        sa.Column(
            "webhook_events",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "flags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["auth.tenants.id"],
            name=op.f("fk_tenant_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_settings")),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("tenant_settings", schema="auth")
    op.drop_index("ix_audit_events_tenant_id", table_name="audit_events", schema="auth")
    op.drop_column("invites", "revoked_at", schema="auth")
    op.drop_constraint(op.f("uq_tenants_slug"), "tenants", schema="auth", type_="unique")
    op.drop_column("tenants", "slug", schema="auth")
