"""``Billing``: the service's parts, built once per process and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.invoices.service import InvoiceService
from agentbus_billing.plans.catalog import Catalog
from agentbus_billing.plans.prices import PriceBook
from agentbus_billing.settings import BillingSettings
from agentbus_billing.stripe_api.client import StripeApi
from agentbus_billing.subscriptions.service import SubscriptionService
from agentbus_billing.usage.reporter import MeterReporter
from agentbus_billing.usage.service import UsageService
from agentbus_billing.webhooks.replay import WebhookReplayer
from agentbus_billing.webhooks.service import StripeEventProcessor
from agentbus_shared.db import Database


@dataclass(frozen=True)
class Billing:
    settings: BillingSettings
    db: Database
    catalog: Catalog
    stripe: StripeApi
    prices: PriceBook
    entitlements: EntitlementsService
    subscriptions: SubscriptionService
    invoices: InvoiceService
    usage: UsageService
    reporter: MeterReporter
    webhooks: StripeEventProcessor
    replayer: WebhookReplayer
