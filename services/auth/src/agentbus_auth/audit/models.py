"""The audit table."""

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB

from agentbus_auth.models import metadata

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("tenant_id", Text),
    Column("user_id", Text),
    Column("actor_id", Text, comment="who acted, when not the user themselves"),
    Column("ip", Text),
    Column("user_agent", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_audit_events_user_id", "user_id", "occurred_at"),
    Index("ix_audit_events_kind", "kind", "occurred_at"),
)
