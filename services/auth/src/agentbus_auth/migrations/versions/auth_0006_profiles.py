"""Self-service profiles: profile fields, email changes, consents and notification preferences.

Revision ID: auth_0006
Revises: auth_0005
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

revision: str = "auth_0006"
down_revision: str | None = "auth_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
