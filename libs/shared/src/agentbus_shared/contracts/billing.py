"""Contract of the billing service: RPC ``rpc.billing.v1.*``, events ``events.billing.*``,
entitlements in the ``ENTITLEMENTS`` KV bucket (key = tenant id), routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from agentbus_shared.contracts.common import Contract, Page, PageQuery, Scope
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable
from agentbus_shared.errors import PaymentRequired, RateLimited

SERVICE = "billing"

Meter = Literal["messages", "tokens"]
SubscriptionStatus = Literal[
    "active",
    "trialing",
    "past_due",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "unpaid",
    "paused",
]
InvoiceStatus = Literal["draft", "open", "paid", "uncollectible", "void"]


class PlanLimits(Contract):
    """Per-period limits; ``None`` means unlimited, ``0`` means not included."""

    messages: int | None = Field(None, ge=0)
    tokens: int | None = Field(None, ge=0)
    seats: int | None = Field(None, ge=0)


class PlanView(Contract):
    code: str
    name: str
    price_cents: int = Field(ge=0)
    currency: str
    interval: Literal["month", "year"]
    limits: PlanLimits
    features: list[str] = Field(default_factory=list)


class PlanRef(Contract):
    code: str = Field(min_length=1, max_length=40)


class SubscriptionView(Contract):
    plan: str
    status: SubscriptionStatus
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


class PlanChoice(Contract):
    plan: str = Field(min_length=1, max_length=64)


class SubscribeResult(Contract):
    """A free plan applies at once (``subscription``); a paid one needs checkout (``checkout_url``)."""

    subscription: SubscriptionView | None = None
    checkout_url: str | None = None


class CancelCommand(Contract):
    at_period_end: bool = True


class PortalSession(Contract):
    url: str


class InvoiceView(Contract):
    id: str
    number: str | None = None
    status: InvoiceStatus
    amount_due: int
    amount_paid: int
    currency: str
    created_at: datetime
    period_start: datetime | None = None
    period_end: datetime | None = None
    hosted_invoice_url: str | None = None


class MeterUsage(Contract):
    meter: Meter
    used: int = Field(ge=0)
    limit: int | None = None


class UsageView(Contract):
    plan: str
    period_start: datetime
    period_end: datetime
    meters: list[MeterUsage]


class Entitlements(Contract):
    """What a tenant may use now; billing writes it to KV after every plan or usage change."""

    tenant_id: str
    plan: str
    status: SubscriptionStatus
    limits: PlanLimits
    used: dict[str, int] = Field(
        default_factory=dict, description="usage so far this period, by meter"
    )
    period_start: datetime
    period_end: datetime
    features: list[str] = Field(default_factory=list)
    updated_at: datetime

    def check(self, *, now: datetime, messages: int = 1) -> None:
        """Refuse a run that the plan does not allow: 402 when never allowed, 429 when used up."""
        for meter, needed in (("messages", messages), ("tokens", 1)):
            limit = getattr(self.limits, meter)
            if limit is None or needed == 0:
                continue
            if limit == 0:
                raise PaymentRequired(
                    f"The {self.plan} plan does not include {meter}.",
                    code="plan_limit_not_included",
                    details={"meter": meter, "plan": self.plan},
                )
            if self.used.get(meter, 0) + needed > limit:
                retry_after = max(1, int((self.period_end - now).total_seconds()))
                raise RateLimited(
                    f"The {meter} limit of the {self.plan} plan is reached for this period.",
                    code="quota_exceeded",
                    retry_after=retry_after,
                    details={"meter": meter, "limit": limit, "used": self.used.get(meter, 0)},
                )


class EntitlementsQuery(Contract):
    tenant_id: str = Field(min_length=1, max_length=64)


class BillingSummary(Contract):
    """The tenant's plan, subscription and usage in one answer (for the chat billing tool)."""

    subscription: SubscriptionView
    usage: UsageView


StripeEventStatus = Literal["received", "processed", "failed", "dead_lettered", "ignored"]


class StripeEventView(Contract):
    id: str
    type: str
    status: StripeEventStatus
    stream_seq: int | None = None
    received_at: datetime
    processed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class StripeEventsQuery(PageQuery):
    status: StripeEventStatus | None = None
    type: str | None = Field(None, max_length=128)


class ReplayCommand(Contract):
    since: datetime | None = None
    from_seq: int | None = Field(None, ge=1)
    type: str | None = Field(None, max_length=128)
    dry_run: bool = False


class ReplayResult(Contract):
    count: int = Field(description="events read from the stream that match the filter")
    applied: int = Field(0, description="events whose re-application changed stored state")
    unchanged: int = Field(0, description="events already reflected (or older than stored state)")
    failed: int = Field(
        0, description="events that could not be applied (recorded with their error)"
    )
    dry_run: bool = False


class Operation:
    PING = "ping"
    PLANS_LIST = "plans.list"
    PLAN_GET = "plans.get"
    """One plan of the catalog, for other services (no public route): auth checks the plan an
    operator gives a tenant it creates."""
    SUBSCRIPTION_GET = "subscription.get"
    SUBSCRIPTION_CREATE = "subscription.create"
    SUBSCRIPTION_CHANGE = "subscription.change"
    SUBSCRIPTION_CANCEL = "subscription.cancel"
    PORTAL = "portal.create"
    INVOICES_LIST = "invoices.list"
    USAGE_GET = "usage.get"
    SUMMARY_GET = "summary.get"
    ENTITLEMENTS_GET = "entitlements.get"
    EVENTS_LIST = "events.list"
    EVENTS_REPLAY = "events.replay"


# ------------------------------------------------------------------ events
class SubscriptionChanged(EventData):
    service = SERVICE
    event_type = "subscription.changed"

    tenant_id: str
    plan: str
    status: SubscriptionStatus
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


class InvoiceChanged(EventData):
    service = SERVICE
    event_type = "invoice.changed"

    tenant_id: str
    invoice_id: str
    status: InvoiceStatus
    amount_due: int
    amount_paid: int
    currency: str
    stripe_event_type: str


class UsageThresholdReached(EventData):
    service = SERVICE
    event_type = "usage.threshold"

    tenant_id: str
    meter: Meter
    used: int
    limit: int
    percent: int = Field(description="the threshold crossed: 80 or 100")


class EntitlementsUpdated(EventData):
    service = SERVICE
    event_type = "entitlements.updated"

    entitlements: Entitlements


# ------------------------------------------------------------------ routes
_routes = RouteTable(SERVICE, prefix="/api/v1/billing", tags=("billing",))


ROUTES: tuple[Route, ...] = (
    _routes.get(
        "/plans",
        Operation.PLANS_LIST,
        "The plan catalog",
        access="public",
        rate_group="anonymous",
        response=Page[PlanView],
    ),
    _routes.get(
        "/subscription",
        Operation.SUBSCRIPTION_GET,
        "The tenant's subscription",
        scopes=(Scope.BILLING_READ,),
        response=SubscriptionView,
    ),
    _routes.post(
        "/subscription",
        Operation.SUBSCRIPTION_CREATE,
        "Subscribe to a plan",
        access="user",
        scopes=(Scope.BILLING_MANAGE,),
        body=PlanChoice,
        response=SubscribeResult,
        status=201,
        extra_statuses=(200,),
    ),
    _routes.post(
        "/subscription/change",
        Operation.SUBSCRIPTION_CHANGE,
        "Change plan (prorated)",
        access="user",
        scopes=(Scope.BILLING_MANAGE,),
        body=PlanChoice,
        response=SubscriptionView,
    ),
    _routes.post(
        "/subscription/cancel",
        Operation.SUBSCRIPTION_CANCEL,
        "Cancel now or at period end",
        access="user",
        scopes=(Scope.BILLING_MANAGE,),
        body=CancelCommand,
        response=SubscriptionView,
    ),
    _routes.post(
        "/portal",
        Operation.PORTAL,
        "A Stripe billing portal session",
        access="user",
        scopes=(Scope.BILLING_MANAGE,),
        response=PortalSession,
    ),
    _routes.get(
        "/invoices",
        Operation.INVOICES_LIST,
        "The tenant's invoices",
        scopes=(Scope.BILLING_READ,),
        query=PageQuery,
        response=Page[InvoiceView],
    ),
    _routes.get(
        "/usage",
        Operation.USAGE_GET,
        "This period's usage per meter with the plan's limits",
        scopes=(Scope.BILLING_READ,),
        response=UsageView,
    ),
    _routes.get(
        "/events",
        Operation.EVENTS_LIST,
        "Stored Stripe events with processing status (operator)",
        scopes=(Scope.PLATFORM_OPERATE,),
        query=StripeEventsQuery,
        response=Page[StripeEventView],
        rate_group="operator",
    ),
    _routes.post(
        "/events/replay",
        Operation.EVENTS_REPLAY,
        "Re-apply Stripe events from the stream (operator)",
        scopes=(Scope.PLATFORM_OPERATE,),
        body=ReplayCommand,
        response=ReplayResult,
        status=202,
        rate_group="operator",
        timeout=300.0,
    ),
)
"""``GET /billing/stream`` is the gateway's own SSE route over ``events.billing.<tenant>.>``."""
