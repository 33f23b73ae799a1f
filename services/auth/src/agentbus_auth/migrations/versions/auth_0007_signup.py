"""Who may sign up: access requests, platform signup invites and signup quotas.

Revision ID: auth_0007
Revises: auth_0006
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0007"
down_revision: str | None = "auth_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("email_normalized", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("ip", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "invite_id", sa.Text(), nullable=True, comment="the signup invite an approval mailed"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'account_exists')",
            name=op.f("ck_signup_requests_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_requests")),
        schema="auth",
    )
    op.create_index(
        "ux_signup_requests_pending_email",
        "signup_requests",
        ["email_normalized"],
        unique=True,
        schema="auth",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_signup_requests_created_at_id",
        "signup_requests",
        ["created_at", "id"],
        unique=False,
        schema="auth",
    )
    op.create_index(
        "ix_signup_requests_status_created_at_id",
        "signup_requests",
        ["status", "created_at", "id"],
        unique=False,
        schema="auth",
    )
    op.create_table(
        "signup_invites",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("email_normalized", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "signup_request_id",
            sa.Text(),
            nullable=True,
            comment="the access request whose approval sent it",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_invites_token_hash")),
        schema="auth",
    )
    op.create_index(
        "ix_signup_invites_created_at_id",
        "signup_invites",
        ["created_at", "id"],
        unique=False,
        schema="auth",
    )


def downgrade() -> None:
    op.drop_index("ix_signup_invites_created_at_id", table_name="signup_invites", schema="auth")
    op.drop_table("signup_invites", schema="auth")
    op.drop_index(
        "ux_signup_requests_pending_email",
        table_name="signup_requests",
        schema="auth",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "ix_signup_requests_status_created_at_id", table_name="signup_requests", schema="auth"
    )
    op.drop_index("ix_signup_requests_created_at_id", table_name="signup_requests", schema="auth")
    op.drop_table("signup_requests", schema="auth")
