"""Builds the billing service process: its parts, its operations and consumers, its background loops."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from agentbus_billing.deprovision import handlers as deprovision_handlers
from agentbus_billing.deprovision.service import BillingDeprovisioning
from agentbus_billing.entitlements import handlers as entitlement_handlers
from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.features import handlers as feature_handlers
from agentbus_billing.features.service import FeatureService
from agentbus_billing.invoices import handlers as invoice_handlers
from agentbus_billing.invoices.service import InvoiceService
from agentbus_billing.manifest import MANIFEST
from agentbus_billing.models import outbox
from agentbus_billing.plans.catalog import Catalog, load_catalog
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
from agentbus_shared.db import Database, OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class BillingParts:
    """Every part of the service, built once per process; handlers, tools and tests use them."""

    settings: BillingSettings
    db: Database
    catalog: Catalog
    stripe: StripeApi
    prices: PriceBook
    entitlements: EntitlementsService
    features: FeatureService
    subscriptions: SubscriptionService
    invoices: InvoiceService
    usage: UsageService
    reporter: MeterReporter
    webhooks: StripeEventProcessor
    replayer: WebhookReplayer
    deprovisioning: BillingDeprovisioning


def build(
    settings: BillingSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    """The billing service process: ``build().run()`` serves it;
    ``runtime.parts_as(BillingParts)`` gives its parts."""
    settings = settings or BillingSettings()
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=configure_process)
    parts = assemble(runtime, settings)
    runtime.attach(parts)
    for feature in (
        subscription_handlers,
        invoice_handlers,
        usage_handlers,
        entitlement_handlers,
        feature_handlers,
        webhook_handlers,
        deprovision_handlers,
    ):
        feature.register(runtime, parts)
    runtime.background("outbox-relay", OutboxRelay(parts.db, outbox.table, runtime.publisher).run)
    runtime.background("meter-reporter", parts.reporter.run)
    runtime.background("entitlements-sync", parts.entitlements.run)

    @runtime.on_startup
    async def prepare_catalog() -> None:
        if settings.stripe_setup_on_start and parts.stripe.configured:
            await provision(parts.stripe, parts.db, parts.catalog, webhook_url=settings.webhook_url)
        await parts.prices.load()

    return runtime


def assemble(runtime: ServiceRuntime, settings: BillingSettings) -> BillingParts:
    """Every part of the service, wired to this runtime's connections."""
    db = runtime.database
    catalog = load_catalog(settings.plans_file)
    stripe = StripeApi.from_settings(settings)
    bucket: list[KeyValue] = []

    async def entitlements_bucket() -> KeyValue:
        if not bucket:
            bucket.append(await jetstream().key_value(ENTITLEMENTS.name))
        return bucket[0]

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    prices = PriceBook(db, catalog)
    entitlements = EntitlementsService(
        db, catalog, entitlements_bucket, sync_interval=settings.tuning.entitlements_sync_interval
    )
    subscriptions = SubscriptionService(
        db, catalog, prices, stripe, entitlements, app_url=settings.app_url
    )
    invoices = InvoiceService(db)
    webhooks = StripeEventProcessor(db, subscriptions, invoices, stripe)
    return BillingParts(
        settings=settings,
        db=db,
        catalog=catalog,
        stripe=stripe,
        prices=prices,
        entitlements=entitlements,
        features=FeatureService(db, catalog, entitlements),
        subscriptions=subscriptions,
        invoices=invoices,
        usage=UsageService(db, entitlements),
        reporter=MeterReporter(
            db,
            stripe,
            catalog,
            batch_size=settings.tuning.meter_report_batch,
            interval=settings.tuning.meter_report_interval,
        ),
        webhooks=webhooks,
        replayer=WebhookReplayer(webhooks, jetstream),
        deprovisioning=BillingDeprovisioning(db, stripe, entitlements_bucket),
    )
