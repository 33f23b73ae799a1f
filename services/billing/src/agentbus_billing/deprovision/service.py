"""Billing's answer to ``tenant.deprovision_requested``: the tenant's Stripe subscription is
cancelled (when the request asks), then its customers, subscriptions, invoices, usage and
entitlements are deleted and ``tenant.data_deleted`` is announced, in one transaction.

The cancellation comes first and is repeatable (idempotency keys of the tenant and the
subscription; a subscription Stripe no longer knows counts as cancelled), so a failure before the
commit is simply retried. The subscription's ``tenant_id`` metadata is unset before it is
cancelled: with the customer and subscription rows gone too, Stripe's later events about it
name no tenant, and billing ignores them instead of storing the tenant again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.js.kv import KeyValue
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.deprovision import repository
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.models import outbox, processed_events
from agentbus_billing.stripe_api.client import StripeApi, StripeNotFound
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_billing.subscriptions.service import LIVE_STATUSES
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import BillingTenantDataDeleted, TenantDeprovisionRequested
from agentbus_shared.db import Database
from agentbus_shared.db.tenant_deletion import TenantDataDeletion
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class BillingDeprovisioning:
    def __init__(
        self, db: Database, stripe: StripeApi, bucket: Callable[[], Awaitable[KeyValue]]
    ) -> None:
        self._db = db
        self._stripe = stripe
        self._bucket = bucket
        self._deletion = TenantDataDeletion(
            db,
            outbox=outbox,
            processed_events=processed_events,
            answer=BillingTenantDataDeleted,
            delete_rows=self._delete_rows,
        )

    async def delete(self, event: CloudEvent[TenantDeprovisionRequested], *, consumer: str) -> None:
        """Cancel the tenant's subscription if asked, then delete its billing data and answer.

        Raises the Stripe client's errors while the subscription cannot be cancelled (retried).
        """
        if event.data.cancel_subscription:
            await self._cancel_subscription(event.data.tenant_id)
        await self._deletion.delete(event, consumer=consumer)

    async def _delete_rows(self, session: AsyncSession, tenant_id: str) -> int:
        # The entitlements writer's and Stripe events' locks: neither lands after the deletion.
        await lock_for_transaction(session, f"entitlements:{tenant_id}")
        await lock_for_transaction(session, f"subscription:{tenant_id}")
        rows = await repository.delete_tenant_data(session, tenant_id)
        await (await self._bucket()).purge(tenant_id)
        return rows

    async def _cancel_subscription(self, tenant_id: str) -> None:
        async with self._db.session() as session:
            row = await subscriptions.of_tenant(session, tenant_id)
        if row is None or row.state.status not in LIVE_STATUSES:
            return
        subscription_id = row.state.stripe_subscription_id
        if subscription_id is None:
            return
        key = f"deprovision-{tenant_id}-{subscription_id}"
        try:
            # Stripe's events about it after the deletion then name no tenant billing knows.
            await self._stripe.forget_tenant(subscription_id, idempotency_key=f"{key}-forget")
            await self._stripe.cancel_subscription(subscription_id, idempotency_key=key)
        except StripeNotFound:
            log.info("tenant.subscription_already_gone", tenant_id=tenant_id)
