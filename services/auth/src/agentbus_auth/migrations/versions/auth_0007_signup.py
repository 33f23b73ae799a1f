"""Who may sign up: access requests, platform signup invites and signup quotas.

Revision ID: auth_0007
Revises: auth_0006
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

revision: str = "auth_0007"
down_revision: str | None = "auth_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
