"""Builds the billing service process: runtime, outbox relay, RPC operations, consumers."""

from __future__ import annotations

from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from agentbus_billing.container import Billing
from agentbus_billing.entitlements import handlers as entitlement_handlers
from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.invoices import handlers as invoice_handlers
from agentbus_billing.invoices.service import InvoiceService
from agentbus_billing.models import SCHEMA, outbox
from agentbus_billing.plans.catalog import load_catalog
from agentbus_billing.plans.prices import PriceBook
from agentbus_billing.plans.setup import provision
from agentbus_billing.settings import BillingSettings
from agentbus_billing.stripe_api.client import StripeApi
from agentbus_billing.subscriptions import handlers as subscription_handlers
from agentbus_billing.subscriptions.service import SubscriptionService
from agentbus_billing.usage import handlers as usage_handlers
from agentbus_billing.usage.reporter import MeterReporter
from agentbus_billing.usage.service import UsageService
from agentbus_billing.webhooks import handlers as webhook_handlers
from agentbus_billing.webhooks.replay import WebhookReplayer
from agentbus_billing.webhooks.service import StripeEventProcessor
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.db import Database, Outbox, OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


def build(
    settings: BillingSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    settings = settings or BillingSettings()
    runtime = ServiceRuntime(
        "billing", settings, schema=SCHEMA, use_redis=True, configure_process=configure_process
    )
    assert runtime.db is not None
    billing = assemble(runtime, settings, runtime.db)
    relay = OutboxRelay(runtime.db, outbox, runtime.publisher)
    runtime.background("outbox-relay", relay.run)
    runtime.background("meter-reporter", billing.reporter.run)
    runtime.background("entitlements-sync", billing.entitlements.run)
    for handlers in (
        subscription_handlers,
        invoice_handlers,
        usage_handlers,
        entitlement_handlers,
        webhook_handlers,
    ):
        handlers.register(runtime, billing)

    @runtime.on_startup
    async def prepare_catalog() -> None:
        if settings.stripe_setup_on_start and billing.stripe.configured:
            await provision(
                billing.stripe, billing.db, billing.catalog, webhook_url=settings.webhook_url
            )
        await billing.prices.load()

    return runtime


def assemble(runtime: ServiceRuntime, settings: BillingSettings, db: Database) -> Billing:
    """Every part of the service, wired to this runtime's connections."""
    catalog = load_catalog(settings.plans_file)
    stripe = StripeApi.from_settings(settings)
    events = Outbox(outbox)
    bucket: list[KeyValue] = []

    async def entitlements_bucket() -> KeyValue:
        if not bucket:
            bucket.append(await jetstream().key_value(ENTITLEMENTS.name))
        return bucket[0]

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    prices = PriceBook(db, catalog)
    rights = EntitlementsService(
        db, catalog, entitlements_bucket, sync_interval=settings.entitlements_sync_interval
    )
    plans = SubscriptionService(
        db, catalog, prices, stripe, rights, events, app_url=settings.app_url
    )
    bills = InvoiceService(db, events)
    processor = StripeEventProcessor(db, plans, bills, rights, stripe)
    return Billing(
        settings=settings,
        db=db,
        catalog=catalog,
        stripe=stripe,
        prices=prices,
        entitlements=rights,
        subscriptions=plans,
        invoices=bills,
        usage=UsageService(db, rights, events),
        reporter=MeterReporter(
            db,
            stripe,
            catalog,
            batch_size=settings.meter_report_batch,
            interval=settings.meter_report_interval,
        ),
        webhooks=processor,
        replayer=WebhookReplayer(db, processor, jetstream),
    )
