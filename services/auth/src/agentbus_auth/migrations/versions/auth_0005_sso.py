"""Single sign-on: OpenID Connect identities linked to accounts, and the logins in flight.

Revision ID: auth_0005
Revises: auth_0004
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0005"
down_revision: str | None = "auth_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "sso_identities",
        sa.Column("id", sa.Text(), nullable=False, comment="what the account's owner unlinks by"),
        sa.Column(
            "provider", sa.Text(), nullable=False, comment="the provider's id in AUTH_SSO_PROVIDERS"
        ),
        sa.Column("subject", sa.Text(), nullable=False, comment="the provider's sub claim"),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column(
            "email", sa.Text(), nullable=True, comment="the email the provider asserted last"
        ),
        _created_at(),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth.users.id"],
            name=op.f("fk_sso_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider", "subject", name=op.f("pk_sso_identities")),
        sa.UniqueConstraint("id", name=op.f("uq_sso_identities_id")),
        schema="auth",
    )
    op.create_index(
        "ix_sso_identities_user_id", "sso_identities", ["user_id"], unique=False, schema="auth"
    )
    op.create_table(
        "sso_logins",
        sa.Column("state_hash", sa.LargeBinary(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column(
            "browser_hash", sa.LargeBinary(), nullable=False, comment="hash of the browser's cookie"
        ),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column(
            "code_verifier_sealed", sa.LargeBinary(), nullable=False, comment="PKCE, under the KEK"
        ),
        sa.Column("return_to", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_sso_logins")),
        schema="auth",
    )
    op.create_index(
        "ix_sso_logins_expires_at", "sso_logins", ["expires_at"], unique=False, schema="auth"
    )


def downgrade() -> None:
    op.drop_index("ix_sso_logins_expires_at", table_name="sso_logins", schema="auth")
    op.drop_table("sso_logins", schema="auth")
    op.drop_index("ix_sso_identities_user_id", table_name="sso_identities", schema="auth")
    op.drop_table("sso_identities", schema="auth")
