"""Tables of the billing service, all in schema ``billing`` (SQLAlchemy Core), and its outbox."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from agentbus_shared.db import Outbox, outbox_table, processed_events_table, schema_metadata

SCHEMA = "billing"
metadata = schema_metadata(SCHEMA)

outbox = Outbox(outbox_table(metadata))
processed_events = processed_events_table(metadata)

plan_prices = Table(
    "plan_prices",
    metadata,
    Column("plan", Text, primary_key=True),
    Column("price_id", Text, nullable=False, unique=True),
    Column("product_id", Text, nullable=False),
    Column("lookup_key", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="plan -> Stripe price, written by `agentbus billing stripe-setup`",
)

stripe_meters = Table(
    "stripe_meters",
    metadata,
    Column("meter", Text, primary_key=True),
    Column("meter_id", Text, nullable=False),
    Column("event_name", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("stripe_customer_id", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("plan", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("stripe_subscription_id", Text),
    Column("current_period_start", DateTime(timezone=True)),
    Column("current_period_end", DateTime(timezone=True)),
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=text("false")),
    Column(
        "stripe_version",
        BigInteger,
        comment="`created` of the newest Stripe event applied (older events never overwrite)",
    ),
    Column("stripe_event_id", Text, comment="the Stripe event that set this state"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_subscriptions_stripe_subscription_id", "stripe_subscription_id"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Text, primary_key=True, comment="Stripe invoice id"),
    Column("tenant_id", Text, nullable=False),
    Column("number", Text),
    Column("status", Text, nullable=False),
    Column("amount_due", BigInteger, nullable=False),
    Column("amount_paid", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("period_start", DateTime(timezone=True)),
    Column("period_end", DateTime(timezone=True)),
    Column("hosted_invoice_url", Text),
    Column("stripe_version", BigInteger, nullable=False),
    Column("stripe_event_id", Text),
    Index("ix_invoices_tenant_created", "tenant_id", "created_at", "id"),
)

stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", Text, primary_key=True, comment="Stripe event id (evt_…)"),
    Column("type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("stream_seq", BigInteger),
    Column("status", Text, nullable=False),
    Column("outcome", Text, comment="applied, unchanged, stale or ignored"),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("processed_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index("ix_stripe_events_received", "received_at", "id"),
    Index("ix_stripe_events_status", "status"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("event_id", Text, primary_key=True, comment="the chat run id"),
    Column("tenant_id", Text, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("messages", BigInteger, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("report_status", Text, nullable=False, server_default=text("'pending'")),
    Column("report_attempts", Integer, nullable=False, server_default=text("0")),
    Column("reported_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Index(
        "ix_usage_records_unreported",
        "recorded_at",
        postgresql_where=text("report_status = 'pending'"),
    ),
)

usage_counters = Table(
    "usage_counters",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("meter", Text, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("used", BigInteger, nullable=False, server_default=text("0")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "meter", "period_start"),
)

usage_thresholds = Table(
    "usage_thresholds",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("meter", Text, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "meter", "period_start", "percent"),
)

entitlements_pending = Table(
    "entitlements_pending",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="tenants whose entitlements changed and are not yet written to KV",
)

feature_overrides = Table(
    "feature_overrides",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("feature", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "feature"),
    comment="features an operator turned on or off for one tenant, whatever its plan says",
)
