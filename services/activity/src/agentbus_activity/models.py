"""Tables of the activity service, all in schema ``activity`` (SQLAlchemy Core), and its outbox.

``feed_items`` is the projection every viewer reads; ``feed_items_rebuild`` has the same columns
and receives a rebuild's replay until it is swapped in. Read and dismiss state lives apart, in
``item_states`` keyed by (item id, user id), so it survives a rebuild: item ids are derived from
event ids and come back the same.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)

from agentbus_shared.db import Outbox, outbox_table, processed_events_table, schema_metadata

SCHEMA = "activity"
metadata = schema_metadata(SCHEMA)

outbox = Outbox(outbox_table(metadata))
processed_events = processed_events_table(metadata)


def _feed_table(name: str, target: MetaData) -> Table:
    return Table(
        name,
        target,
        Column(
            "id", Text, primary_key=True, comment="act_ + the event id: the same on every replay"
        ),
        Column("tenant_id", Text, nullable=False),
        Column("kind", Text, nullable=False, comment="the event type, e.g. member.changed"),
        Column("actor_id", Text),
        Column("subject_type", Text),
        Column("subject_id", Text),
        Column("subject_label", Text),
        Column("subject_href", Text),
        Column("summary", Text, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False, comment="the event's time"),
        Column("audience", Text, nullable=False, comment="members or admins"),
        Column("concerns_user_id", Text, comment="the user an admins item is about: sees it too"),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index(f"ix_{name}_tenant_occurred", "tenant_id", "occurred_at", "id"),
        Index(f"ix_{name}_occurred", "occurred_at"),
    )


feed_items = _feed_table("feed_items", metadata)
feed_items_rebuild = _feed_table("feed_items_rebuild", metadata)

item_states = Table(
    "item_states",
    metadata,
    Column("item_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("tenant_id", Text, nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("dismissed_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("item_id", "user_id"),
    Index("ix_item_states_tenant_user", "tenant_id", "user_id"),
    comment="one viewer's read and dismissed marks, apart from the items a rebuild replaces",
)

people = Table(
    "people",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("label", Text, nullable=False, comment="display name, else email"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    comment="how the feed names a tenant's users, learned from user.registered",
)

rebuilds = Table(
    "rebuilds",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, comment="the one tenant rebuilt; null: every tenant"),
    Column(
        "since", DateTime(timezone=True), comment="replayed from this time; null: from the start"
    ),
    Column("status", Text, nullable=False, comment="running, done or failed"),
    Column("replayed", BigInteger, nullable=False, server_default=text("0")),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Index(
        "uq_rebuilds_running",
        "status",
        unique=True,
        postgresql_where=text("status = 'running'"),
    ),
    comment="rebuilds by replay; while one runs the live projection writes to both feed tables",
)
