"""Self-service profiles: profile fields, email changes, consents and notification preferences.

Revision ID: auth_0006
Revises: auth_0005
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0006"
down_revision: str | None = "auth_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _user_id(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["auth.users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "user_profiles",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("given_name", sa.Text(), nullable=True),
        sa.Column("family_name", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True, comment="IANA time zone name"),
        sa.Column("locale", sa.Text(), nullable=True, comment="language tag"),
        _now("updated_at"),
        _user_id("user_profiles"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_profiles")),
        schema="auth",
    )
    op.create_table(
        "consents",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        _now("accepted_at"),
        _user_id("consents"),
        sa.CheckConstraint("document IN ('terms', 'privacy')", name=op.f("ck_consents_document")),
        sa.PrimaryKeyConstraint("user_id", "document", "version", name=op.f("pk_consents")),
        schema="auth",
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _now("updated_at"),
        _user_id("notification_preferences"),
        sa.PrimaryKeyConstraint(
            "user_id", "kind", "channel", name=op.f("pk_notification_preferences")
        ),
        schema="auth",
    )
    op.create_table(
        "email_changes",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("new_email", sa.Text(), nullable=False),
        sa.Column(
            "code_id", sa.Text(), nullable=False, comment="the code mailed to the new address"
        ),
        _now("requested_at"),
        _user_id("email_changes"),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["auth.one_time_codes.id"],
            name=op.f("fk_email_changes_code_id_one_time_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_email_changes")),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("email_changes", schema="auth")
    op.drop_table("notification_preferences", schema="auth")
    op.drop_table("consents", schema="auth")
    op.drop_table("user_profiles", schema="auth")
