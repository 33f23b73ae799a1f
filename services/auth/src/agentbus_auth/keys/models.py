"""The table of signing keys."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from agentbus_auth.models import metadata

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True, comment="RFC 7638 thumbprint"),
    Column("state", Text, nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    Column("private_jwk_sealed", LargeBinary, comment="AES-GCM under the KEK; wiped on retirement"),
    Column("kek_fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("activated_at", DateTime(timezone=True)),
    Column("retired_at", DateTime(timezone=True)),
    Column("publish_until", DateTime(timezone=True), comment="retired: last moment in the JWKS"),
    CheckConstraint("state IN ('next', 'active', 'retired')", name="state"),
    Index(
        "uq_signing_keys_active", "state", unique=True, postgresql_where=text("state = 'active'")
    ),
    Index("uq_signing_keys_next", "state", unique=True, postgresql_where=text("state = 'next'")),
)
