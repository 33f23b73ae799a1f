"""Tables of the chat service, all in schema ``chat``; tenant and user on every row; its outbox."""

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from agentbus_shared.db import Outbox, outbox_table, processed_events_table, schema_metadata

SCHEMA = "chat"
SEARCH_CONFIG = "english"
metadata = schema_metadata(SCHEMA)

outbox = Outbox(outbox_table(metadata))
processed_events = processed_events_table(metadata)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("title", Text),
    Column("last_agent", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
    Column("active_run_id", Text, comment="the run holding the conversation's lease"),
    Column("lease_expires_at", DateTime(timezone=True)),
    Index(
        "ix_conversations_owner_recent",
        "tenant_id",
        "user_id",
        text("updated_at DESC"),
        text("id DESC"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column(
        "conversation_id",
        Text,
        ForeignKey(conversations.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tenant_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("run_id", Text),
    Column("role", Text, nullable=False),
    Column("agent", Text),
    Column("content", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="complete"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "search_vector",
        TSVECTOR,
        Computed(f"to_tsvector('{SEARCH_CONFIG}', content)", persisted=True),
    ),
    Index("ix_messages_conversation_seq", "conversation_id", "seq"),
    Index("ix_messages_search_vector", "search_vector", postgresql_using="gin"),
    Index("ix_messages_owner", "tenant_id", "user_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Text, primary_key=True, comment="run id; also the usage event id"),
    Column("tenant_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column(
        "conversation_id",
        Text,
        ForeignKey(conversations.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("stream_id", Text, unique=True),
    Column("status", Text, nullable=False, server_default="running"),
    Column("agent", Text),
    Column("model", Text),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("error_code", Text),
    Column("instance", Text, comment="the replica running it"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_runs_conversation", "conversation_id"),
)

agent_items = Table(
    "agent_items",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "conversation_id",
        Text,
        ForeignKey(conversations.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tenant_id", Text, nullable=False),
    Column("item", JSONB, nullable=False, comment="one Agents SDK input item"),
    Column("tokens", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_agent_items_conversation_seq", "conversation_id", "seq"),
)
