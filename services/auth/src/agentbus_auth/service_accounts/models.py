"""The table of service accounts."""

from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY

from agentbus_auth.models import metadata

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("client_id", Text, nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_service_accounts_tenant_id", "tenant_id", "id"),
)
