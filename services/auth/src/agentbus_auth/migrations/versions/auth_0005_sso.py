"""Single sign-on: OpenID Connect identities linked to accounts, and the logins in flight.

Revision ID: auth_0005
Revises: auth_0004
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

revision: str = "auth_0005"
down_revision: str | None = "auth_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
