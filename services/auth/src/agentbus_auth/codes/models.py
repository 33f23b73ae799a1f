"""The table of one-time codes (email verification, password reset)."""

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)

from agentbus_auth.models import metadata

one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("code_mac", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("consumed_at", DateTime(timezone=True)),
    Index(
        "ix_one_time_codes_open",
        "user_id",
        "purpose",
        postgresql_where=text("consumed_at IS NULL"),
    ),
)
