"""Tables of sessions and their refresh tokens (one family of rotated tokens per session)."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)

from agentbus_auth.models import metadata

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True, comment="the sid claim of its access tokens"),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column(
        "access_expires_at", DateTime(timezone=True), comment="expiry of its newest access token"
    ),
    Column("mfa", Boolean, nullable=False, server_default=text("false")),
    Column("ip", Text),
    Column("user_agent", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", Text),
    Index("ix_sessions_user_id", "user_id", postgresql_where=text("revoked_at IS NULL")),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("session_id", Text, ForeignKey("auth.sessions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True)),
    Index("ix_refresh_tokens_session_id", "session_id"),
)
