"""Tenant settings and slugs, and where sessions and audit entries come from.

Revision ID: auth_0008
Revises: auth_0007
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

revision: str = "auth_0008"
down_revision: str | None = "auth_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
