"""The table of platform operators (granted with ``agentbus auth operators grant``)."""

from sqlalchemy import Column, DateTime, ForeignKey, Table, Text, func

from agentbus_auth.models import metadata

platform_operators = Table(
    "platform_operators",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True),
    Column("granted_by", Text, nullable=False, comment="who ran the grant"),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
