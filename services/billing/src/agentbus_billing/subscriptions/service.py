"""Subscription rules: free plans at once, paid plans through Stripe Checkout, changes and
cancellations through the Stripe API, and Stripe's subscription state applied newest-first."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.deprovision import repository as deprovisioned
from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.models import outbox
from agentbus_billing.outcomes import Outcome
from agentbus_billing.periods import from_unix
from agentbus_billing.plans.catalog import Catalog, Plan
from agentbus_billing.plans.prices import PriceBook
from agentbus_billing.states import subscription_status
from agentbus_billing.stripe_api.client import StripeApi, StripeDict
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_billing.subscriptions.repository import StoredSubscription, SubscriptionState
from agentbus_shared.contracts.billing import (
    PortalSession,
    SubscribeResult,
    SubscriptionChanged,
    SubscriptionStatus,
    SubscriptionView,
)
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.events import make_event
from agentbus_shared.db import Database
from agentbus_shared.errors import Conflict, PermanentFailure
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

TERMINAL_STATUSES: frozenset[SubscriptionStatus] = frozenset({"canceled", "incomplete_expired"})
LIVE_STATUSES: frozenset[SubscriptionStatus] = frozenset(
    {"active", "trialing", "past_due", "unpaid", "paused"}
)
"""A Stripe subscription in these states is the tenant's (``incomplete`` is not yet paid)."""


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        prices: PriceBook,
        stripe: StripeApi,
        entitlements: EntitlementsService,
        *,
        app_url: str,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._prices = prices
        self._stripe = stripe
        self._entitlements = entitlements
        self._app_url = app_url.rstrip("/")

    # ------------------------------------------------------------ reads
    async def view(self, tenant_id: str) -> SubscriptionView:
        async with self._db.session() as session:
            return await self._view_of(session, tenant_id)

    async def _view_of(self, session: AsyncSession, tenant_id: str) -> SubscriptionView:
        row = await subscriptions.of_tenant(session, tenant_id)
        if row is None:
            return SubscriptionView(plan=self._catalog.default.code, status="active")
        return _view(row.state)

    # ------------------------------------------------------------ tenants
    async def start_free(self, tenant_id: str) -> bool:
        """Give a new tenant the default plan (once; False when it already has a plan)."""
        state = SubscriptionState(plan=self._catalog.default.code, status="active")
        async with self._db.transaction() as session:
            if await deprovisioned.tenant_deleted(session, tenant_id):
                return False
            if not await subscriptions.insert_if_absent(session, tenant_id, state):
                return False
            await self._changed(session, tenant_id, state)
        return True

    # ------------------------------------------------------------ commands
    async def subscribe(
        self, principal: Principal, plan_code: str, meta: RequestMeta
    ) -> tuple[SubscribeResult, bool]:
        """Free plan: applied now (second value False). Paid plan: a Checkout URL (True)."""
        plan = self._catalog.get(plan_code)
        tenant_id = principal.tenant_id
        if not plan.is_paid:
            async with self._db.transaction() as session:
                await lock_for_transaction(session, f"subscription:{tenant_id}")
                row = await subscriptions.of_tenant(session, tenant_id, for_update=True)
                if row is not None and _has_live_stripe_subscription(row):
                    raise Conflict(
                        "Cancel the paid subscription to return to the free plan.",
                        code="paid_subscription_active",
                    )
                state = SubscriptionState(plan=plan.code, status="active")
                await self._save_if_changed(session, tenant_id, row, state)
            return SubscribeResult(subscription=_view(state)), False
        async with self._db.session() as session:
            row = await subscriptions.of_tenant(session, tenant_id)
        if row is not None and _has_live_stripe_subscription(row):
            raise Conflict(
                "The tenant already has a paid subscription; change its plan instead.",
                code="subscription_exists",
            )
        customer_id = await self.ensure_customer(tenant_id)
        checkout = await self._stripe.create_checkout_session(
            tenant_id=tenant_id,
            customer_id=customer_id,
            price_id=await self._prices.price_for(plan.code),
            plan=plan.code,
            success_url=f"{self._app_url}/billing?checkout=success",
            cancel_url=f"{self._app_url}/billing?checkout=canceled",
            idempotency_key=_key("checkout", tenant_id, plan.code, meta),
        )
        log.info("billing.checkout_created", tenant_id=tenant_id, plan=plan.code)
        return SubscribeResult(checkout_url=checkout["url"]), True

    async def change(
        self, principal: Principal, plan_code: str, meta: RequestMeta
    ) -> SubscriptionView:
        """Move a paid subscription to another plan (prorated); the free plan cancels at period end."""
        plan = self._catalog.get(plan_code)
        tenant_id = principal.tenant_id
        if not plan.is_paid:
            return await self.cancel(principal, at_period_end=True, meta=meta)
        row = await self._live_row(tenant_id, missing_code="checkout_required")
        if row.state.plan == plan.code and not row.state.cancel_at_period_end:
            return _view(row.state)
        assert row.state.stripe_subscription_id is not None
        current = await self._stripe.retrieve_subscription(row.state.stripe_subscription_id)
        updated = await self._stripe.change_subscription_price(
            current,
            await self._prices.price_for(plan.code),
            idempotency_key=_key("change", tenant_id, plan.code, meta),
        )
        return await self._apply_answer(tenant_id, updated)

    async def cancel(
        self, principal: Principal, *, at_period_end: bool, meta: RequestMeta
    ) -> SubscriptionView:
        tenant_id = principal.tenant_id
        row = await self._live_row(tenant_id, missing_code="no_paid_subscription")
        subscription_id = row.state.stripe_subscription_id
        assert subscription_id is not None
        if at_period_end:
            answer = await self._stripe.set_cancel_at_period_end(
                subscription_id, True, idempotency_key=_key("cancel-later", tenant_id, "", meta)
            )
        else:
            answer = await self._stripe.cancel_subscription(
                subscription_id, idempotency_key=_key("cancel-now", tenant_id, "", meta)
            )
        return await self._apply_answer(tenant_id, answer)

    async def portal(self, principal: Principal, meta: RequestMeta) -> PortalSession:
        customer_id = await self.ensure_customer(principal.tenant_id)
        portal = await self._stripe.create_portal_session(
            customer_id=customer_id,
            return_url=f"{self._app_url}/billing",
            idempotency_key=_key("portal", principal.tenant_id, "", meta),
        )
        return PortalSession(url=portal["url"])

    async def ensure_customer(self, tenant_id: str) -> str:
        """The tenant's Stripe customer, created on first need (idempotently, by tenant)."""
        async with self._db.session() as session:
            existing = await subscriptions.customer_of(session, tenant_id)
        if existing:
            return existing
        created = await self._stripe.create_customer(tenant_id)
        async with self._db.transaction() as session:
            await subscriptions.link_customer(session, tenant_id, created["id"])
            linked = await subscriptions.customer_of(session, tenant_id)
        assert linked is not None
        return linked

    # ------------------------------------------------------------ Stripe state
    async def tenant_for(self, session: AsyncSession, obj: StripeDict) -> str | None:
        """Whose subscription this is (in the caller's transaction): its metadata, its
        customer, or a subscription we track; nobody's once its tenant's data was deleted."""
        tenant_id = await self._named_tenant(session, obj)
        if tenant_id is None or await deprovisioned.tenant_deleted(session, tenant_id):
            return None
        return tenant_id

    async def _named_tenant(self, session: AsyncSession, obj: StripeDict) -> str | None:
        tenant_id = (obj.get("metadata") or {}).get("tenant_id")
        if tenant_id:
            return str(tenant_id)
        customer = obj.get("customer")
        if isinstance(customer, dict):
            customer = customer.get("id")
        if customer:
            found = await subscriptions.tenant_of_customer(session, str(customer))
            if found:
                return found
        return await subscriptions.tenant_of_subscription(session, str(obj.get("id")))

    async def refresh_prices(self) -> None:
        """Read the plan -> price mapping again (stripe-setup may have changed it)."""
        await self._prices.load()

    async def link_customer(self, session: AsyncSession, tenant_id: str, customer_id: str) -> bool:
        """Remember the tenant's Stripe customer (in the caller's transaction); False if known
        or the tenant's data was deleted."""
        if await deprovisioned.tenant_deleted(session, tenant_id):
            return False
        return await subscriptions.link_customer(session, tenant_id, customer_id)

    async def apply_stripe(
        self,
        session: AsyncSession,
        obj: StripeDict,
        *,
        version: int | None,
        event_id: str | None,
    ) -> Outcome:
        """Apply a Stripe subscription object, in the caller's transaction, unless newer state
        is already stored.

        ``version`` is the ``created`` time of the event that carried ``obj``
        (None for an API answer, which never moves the version). An event of the
        same second as the stored state is settled by fetching the subscription
        from Stripe.
        """
        tenant_id = await self.tenant_for(session, obj)
        if tenant_id is None:
            return "ignored"
        await lock_for_transaction(session, f"subscription:{tenant_id}")
        row = await subscriptions.of_tenant(session, tenant_id, for_update=True)
        stored = row.stripe_version if row is not None and row.stripe_version else 0
        if version is not None and row is not None:
            tracked = row.state.stripe_subscription_id == obj.get("id")
            if version < stored:
                return "stale"
            if not tracked and obj.get("status") in TERMINAL_STATUSES:
                return "stale"  # an older subscription ending; the tenant moved on
            if tracked and version == stored and self._stripe.configured:
                # Same second as the stored state (another event, or this one replayed after a
                # tie was settled): Stripe's current object decides.
                obj = await self._stripe.retrieve_subscription(str(obj["id"]))
        state = SubscriptionState(
            plan=(await self._plan_of(obj)).code,
            status=subscription_status(obj.get("status")),
            stripe_subscription_id=str(obj["id"]),
            current_period_start=_period(obj, "current_period_start"),
            current_period_end=_period(obj, "current_period_end"),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end") or obj.get("cancel_at")),
        )
        # A strictly newer event moves the marker. On a tie settled by Stripe the marker stays, so
        # replaying either event writes nothing; without Stripe the later arrival wins.
        moves = version is not None and (
            version > stored or (version == stored and not self._stripe.configured)
        )
        new_version = version if moves else (row.stripe_version if row else None)
        new_event = event_id if moves else (row.stripe_event_id if row else None)
        changed = await self._save_if_changed(
            session, tenant_id, row, state, stripe_version=new_version, stripe_event_id=new_event
        )
        return "applied" if changed else "unchanged"

    async def _plan_of(self, obj: StripeDict) -> Plan:
        items = (obj.get("items") or {}).get("data") or []
        item = items[0] if items else {}
        price = item.get("price") or {}
        price_id = (
            price.get("id")
            or (item.get("plan") or {}).get("id")
            or (obj.get("plan") or {}).get("id")
        )
        plan = await self._prices.plan_for(price_id, price.get("lookup_key"))
        if plan is None:
            plan = self._catalog.find(str((obj.get("metadata") or {}).get("plan", "")))
        if plan is None:
            raise PermanentFailure(
                f"Stripe price {price_id} is not in the plan catalog; run stripe-setup, then replay.",
                code="unknown_price",
            )
        return plan

    # ------------------------------------------------------------ internals
    async def _live_row(self, tenant_id: str, *, missing_code: str) -> StoredSubscription:
        async with self._db.session() as session:
            row = await subscriptions.of_tenant(session, tenant_id)
        if row is None or not _has_live_stripe_subscription(row):
            raise Conflict("The tenant has no paid subscription.", code=missing_code)
        return row

    async def _apply_answer(self, tenant_id: str, answer: StripeDict) -> SubscriptionView:
        """Apply Stripe's answer to our own call at once (its webhook will confirm it)."""
        async with self._db.transaction() as session:
            await self.apply_stripe(session, answer, version=None, event_id=None)
            return await self._view_of(session, tenant_id)

    async def _save_if_changed(
        self,
        session: AsyncSession,
        tenant_id: str,
        row: StoredSubscription | None,
        state: SubscriptionState,
        *,
        stripe_version: int | None = None,
        stripe_event_id: str | None = None,
    ) -> bool:
        if row is not None and stripe_version is None:
            stripe_version, stripe_event_id = row.stripe_version, row.stripe_event_id
        if row is not None and row.state == state:
            if (stripe_version, stripe_event_id) != (row.stripe_version, row.stripe_event_id):
                await subscriptions.set_version(
                    session,
                    tenant_id,
                    stripe_version=stripe_version or 0,
                    stripe_event_id=stripe_event_id or "",
                )
            return False
        await subscriptions.save(
            session,
            tenant_id,
            state,
            stripe_version=stripe_version,
            stripe_event_id=stripe_event_id,
        )
        await self._changed(session, tenant_id, state)
        return True

    async def _changed(
        self, session: AsyncSession, tenant_id: str, state: SubscriptionState
    ) -> None:
        await outbox.emit(
            session,
            make_event(
                SubscriptionChanged(
                    tenant_id=tenant_id,
                    plan=state.plan,
                    status=state.status,
                    current_period_end=state.current_period_end,
                    cancel_at_period_end=state.cancel_at_period_end,
                ),
                tenant_id=tenant_id,
            ),
        )
        await self._entitlements.changed(session, tenant_id)
        log.info(
            "billing.subscription_changed",
            tenant_id=tenant_id,
            plan=state.plan,
            status=state.status,
        )


def _view(state: SubscriptionState) -> SubscriptionView:
    return SubscriptionView(
        plan=state.plan,
        status=state.status,
        current_period_end=state.current_period_end,
        cancel_at_period_end=state.cancel_at_period_end,
    )


def _has_live_stripe_subscription(row: StoredSubscription) -> bool:
    return row.state.stripe_subscription_id is not None and row.state.status in LIVE_STATUSES


def _period(obj: StripeDict, name: str) -> Any:
    value = obj.get(name)
    if value is None:
        items = (obj.get("items") or {}).get("data") or []
        value = items[0].get(name) if items else None
    return from_unix(value)


def _key(action: str, tenant_id: str, target: str, meta: RequestMeta) -> str:
    """An idempotency key: a retried HTTP request (same request id) makes the same Stripe write."""
    return f"agentbus-{action}-{tenant_id}-{target}-{meta.request_id or new_id('req')}"
