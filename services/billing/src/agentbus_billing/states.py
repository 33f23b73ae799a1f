"""The states billing stores as text (Stripe's and its own), read back as their types."""

from __future__ import annotations

from typing import TypeVar, get_args

from agentbus_shared.contracts.billing import InvoiceStatus, StripeEventStatus, SubscriptionStatus

S = TypeVar("S", bound=str)

SUBSCRIPTION_STATUSES: tuple[SubscriptionStatus, ...] = get_args(SubscriptionStatus)
INVOICE_STATUSES: tuple[InvoiceStatus, ...] = get_args(InvoiceStatus)
STRIPE_EVENT_STATUSES: tuple[StripeEventStatus, ...] = get_args(StripeEventStatus)


def one_of(value: object, known: tuple[S, ...], default: S) -> S:
    """``value`` as one of the ``known`` states; ``default`` for a state Stripe added later."""
    return next((state for state in known if state == value), default)
