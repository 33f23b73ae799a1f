"""The states billing stores as text (Stripe's and its own), read back as their types."""

from __future__ import annotations

from typing import TypeVar, get_args

from agentbus_shared.contracts.billing import InvoiceStatus, StripeEventStatus, SubscriptionStatus

S = TypeVar("S", bound=str)


def subscription_status(value: object) -> SubscriptionStatus:
    """Stripe's subscription status; one it adds later reads as ``incomplete`` (not entitled, not live)."""
    return _one_of(value, get_args(SubscriptionStatus), "incomplete")


def invoice_status(value: object) -> InvoiceStatus:
    """Stripe's invoice status; one it adds later reads as ``draft``."""
    return _one_of(value, get_args(InvoiceStatus), "draft")


def stripe_event_status(value: object) -> StripeEventStatus:
    """How far a stored Stripe event got; an unknown one reads as ``received``."""
    return _one_of(value, get_args(StripeEventStatus), "received")


def _one_of(value: object, known: tuple[S, ...], default: S) -> S:
    """``value`` as one of the ``known`` states; ``default`` for a state Stripe added later."""
    return next((state for state in known if state == value), default)
