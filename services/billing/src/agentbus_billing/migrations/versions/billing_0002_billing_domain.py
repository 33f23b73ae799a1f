"""Plans and prices, customers, subscriptions, invoices, Stripe events, usage, entitlements.

Revision ID: billing_0002
Revises: billing_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "billing_0002"
down_revision: str | None = "billing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "billing"


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)  # type: ignore[arg-type]


def _now(name: str) -> sa.Column:
    return _ts(name, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "plan_prices",
        sa.Column("plan", sa.Text, primary_key=True),
        sa.Column("price_id", sa.Text, nullable=False, unique=True),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("lookup_key", sa.Text, nullable=False),
        _now("updated_at"),
        schema=S,
        comment="plan -> Stripe price, written by `agentbus billing stripe-setup`",
    )
    op.create_table(
        "stripe_meters",
        sa.Column("meter", sa.Text, primary_key=True),
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("event_name", sa.Text, nullable=False),
        _now("updated_at"),
        schema=S,
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("stripe_customer_id", sa.Text, nullable=False, unique=True),
        _now("created_at"),
        schema=S,
    )
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stripe_subscription_id", sa.Text),
        _ts("current_period_start"),
        _ts("current_period_end"),
        sa.Column(
            "cancel_at_period_end", sa.Boolean, nullable=False, server_default=sa.text("false")
        ),
        sa.Column(
            "stripe_version",
            sa.BigInteger,
            comment="`created` of the newest Stripe event applied (older events never overwrite)",
        ),
        sa.Column("stripe_event_id", sa.Text, comment="the Stripe event that set this state"),
        _now("created_at"),
        _now("updated_at"),
        schema=S,
    )
    op.create_index(
        "ix_subscriptions_stripe_subscription_id",
        "subscriptions",
        ["stripe_subscription_id"],
        schema=S,
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Text, primary_key=True, comment="Stripe invoice id"),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("amount_due", sa.BigInteger, nullable=False),
        sa.Column("amount_paid", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        _ts("created_at", nullable=False),
        _ts("period_start"),
        _ts("period_end"),
        sa.Column("hosted_invoice_url", sa.Text),
        sa.Column("stripe_version", sa.BigInteger, nullable=False),
        sa.Column("stripe_event_id", sa.Text),
        schema=S,
    )
    op.create_index(
        "ix_invoices_tenant_created", "invoices", ["tenant_id", "created_at", "id"], schema=S
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.Text, primary_key=True, comment="Stripe event id (evt_…)"),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("stream_seq", sa.BigInteger),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, comment="applied, unchanged, stale or ignored"),
        _now("received_at"),
        _ts("processed_at"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        schema=S,
    )
    op.create_index("ix_stripe_events_received", "stripe_events", ["received_at", "id"], schema=S)
    op.create_index("ix_stripe_events_status", "stripe_events", ["status"], schema=S)
    op.create_table(
        "usage_records",
        sa.Column("event_id", sa.Text, primary_key=True, comment="the chat run id"),
        sa.Column("tenant_id", sa.Text, nullable=False),
        _ts("period_start", nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        _ts("recorded_at", nullable=False),
        sa.Column("report_status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("report_attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _ts("reported_at"),
        sa.Column("last_error", sa.Text),
        schema=S,
    )
    op.create_index(
        "ix_usage_records_unreported",
        "usage_records",
        ["recorded_at"],
        schema=S,
        postgresql_where=sa.text("report_status = 'pending'"),
    )
    op.create_table(
        "usage_counters",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("meter", sa.Text, nullable=False),
        _ts("period_start", nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "meter", "period_start", name="pk_usage_counters"),
        schema=S,
    )
    op.create_table(
        "usage_thresholds",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("meter", sa.Text, nullable=False),
        _ts("period_start", nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        _now("reached_at"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "meter", "period_start", "percent", name="pk_usage_thresholds"
        ),
        schema=S,
    )
    op.create_table(
        "entitlements_pending",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        _now("since"),
        schema=S,
        comment="tenants whose entitlements changed and are not yet written to KV",
    )


def downgrade() -> None:
    for table in (
        "entitlements_pending",
        "usage_thresholds",
        "usage_counters",
        "usage_records",
        "stripe_events",
        "invoices",
        "subscriptions",
        "customers",
        "stripe_meters",
        "plan_prices",
    ):
        op.drop_table(table, schema=S)
