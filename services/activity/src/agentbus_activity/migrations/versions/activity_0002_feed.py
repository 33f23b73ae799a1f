"""The feed, its rebuild table, viewers' read and dismiss state, people's labels, rebuilds.

Revision ID: activity_0002
Revises: activity_0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "activity_0002"
down_revision: str | None = "activity_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "activity"


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)  # type: ignore[arg-type]


def _now(name: str) -> sa.Column:
    return _ts(name, nullable=False, server_default=sa.func.now())


def _feed_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column(
            "id", sa.Text, primary_key=True, comment="act_ + the event id: the same on every replay"
        ),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False, comment="the event type, e.g. member.changed"),
        sa.Column("actor_id", sa.Text),
        sa.Column("subject_type", sa.Text),
        sa.Column("subject_id", sa.Text),
        sa.Column("subject_label", sa.Text),
        sa.Column("subject_href", sa.Text),
        sa.Column("summary", sa.Text, nullable=False),
        _ts("occurred_at", nullable=False, comment="the event's time"),
        sa.Column("audience", sa.Text, nullable=False, comment="members or admins"),
        sa.Column(
            "concerns_user_id", sa.Text, comment="the user an admins item is about: sees it too"
        ),
        _now("created_at"),
        schema=S,
    )
    op.create_index(
        f"ix_{name}_tenant_occurred", name, ["tenant_id", "occurred_at", "id"], schema=S
    )
    op.create_index(f"ix_{name}_occurred", name, ["occurred_at"], schema=S)


def upgrade() -> None:
    _feed_table("feed_items")
    _feed_table("feed_items_rebuild")
    op.create_table(
        "item_states",
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        _ts("read_at"),
        _ts("dismissed_at"),
        sa.PrimaryKeyConstraint("item_id", "user_id", name="pk_item_states"),
        schema=S,
        comment="one viewer's read and dismissed marks, apart from the items a rebuild replaces",
    )
    op.create_index("ix_item_states_tenant_user", "item_states", ["tenant_id", "user_id"], schema=S)
    op.create_table(
        "people",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False, comment="display name, else email"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_people"),
        schema=S,
        comment="how the feed names a tenant's users, learned from user.registered",
    )
    op.create_table(
        "rebuilds",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, comment="the one tenant rebuilt; null: every tenant"),
        _ts("since", comment="replayed from this time; null: from the start"),
        sa.Column("status", sa.Text, nullable=False, comment="running, done or failed"),
        sa.Column("replayed", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        _now("started_at"),
        _ts("finished_at"),
        schema=S,
        comment="rebuilds by replay; while one runs the live projection writes to both feed tables",
    )
    op.create_index(
        "uq_rebuilds_running",
        "rebuilds",
        ["status"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    for table in ("rebuilds", "people", "item_states", "feed_items_rebuild", "feed_items"):
        op.drop_table(table, schema=S)
