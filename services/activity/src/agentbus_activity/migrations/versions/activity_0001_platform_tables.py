"""Outbox and processed-events tables of the activity schema.

Revision ID: activity_0001
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from agentbus_shared.migrations import create_platform_tables, drop_platform_tables

revision: str = "activity_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_platform_tables("activity")


def downgrade() -> None:
    drop_platform_tables("activity")
