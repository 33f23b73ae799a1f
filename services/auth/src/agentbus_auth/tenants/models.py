"""Tables of tenants, memberships and invites."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)

from agentbus_auth.models import metadata

ROLE_CHECK = "role IN ('owner', 'admin', 'member', 'viewer')"

tenants = Table(
    "tenants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("plan", Text, nullable=False, server_default=text("'free'")),
    Column("plan_status", Text),
    Column("plan_changed_at", DateTime(timezone=True), comment="time of the newest plan event"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("role", Text, nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    CheckConstraint(ROLE_CHECK, name="role"),
    Index("ix_memberships_user_id", "user_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("email", Text, nullable=False),
    Column("email_normalized", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("accepted_by", Text),
    CheckConstraint(ROLE_CHECK, name="role"),
    Index("ix_invites_tenant_id", "tenant_id"),
)
