"""``StripeEventProcessor``: applies one Stripe event, once, in one transaction.

The event is applied and stored (unique Stripe id) in the same transaction;
a redelivered or duplicate event finds its row done, and its transaction is
rolled back, so it changes nothing. A
failure is recorded (attempts, last error) in a transaction of its own and
re-raised, so the consumer retries it later or dead-letters it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.invoices.service import InvoiceService
from agentbus_billing.outcomes import Outcome
from agentbus_billing.stripe_api.client import StripeApi
from agentbus_billing.subscriptions.service import SubscriptionService
from agentbus_billing.webhooks import repository as stored_events
from agentbus_billing.webhooks.repository import DONE
from agentbus_shared.contracts.billing import StripeEventStatus, StripeEventView
from agentbus_shared.db import Database
from agentbus_shared.errors import PermanentFailure
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class _AlreadyDone(Exception):
    """Rolls back the re-application of an event that is already stored as done."""


class _DryRun(Exception):
    """Rolls back a dry run's transaction."""


class StripeEvent(BaseModel):
    """The parts of a Stripe event we rely on; the whole payload is stored as received."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=4, max_length=255, pattern=r"^evt_[A-Za-z0-9_]+$")
    type: str = Field(min_length=1, max_length=128)
    created: int = Field(ge=0)
    data: dict[str, Any]

    @property
    def object(self) -> dict[str, Any]:
        obj = self.data.get("object")
        if not isinstance(obj, dict):
            raise PermanentFailure("The Stripe event has no data.object.", code="malformed_event")
        return obj


SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.created",
        "invoice.finalized",
        "invoice.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
CHECKOUT_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated"})
HANDLED = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CHECKOUT_EVENTS | CUSTOMER_EVENTS


def storable(value: Any) -> Any:
    """``value`` with every NUL character replaced by U+FFFD: PostgreSQL stores NUL neither in
    ``jsonb`` nor in ``text``, and a Stripe event may carry one in any free-text field."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(key): storable(child) for key, child in value.items()}
    if isinstance(value, list):
        return [storable(child) for child in value]
    return value


def describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return f"ValidationError: {error.error_count()} error(s) in the Stripe event"
    return f"{type(error).__name__}: {error}"[:1000]


class StripeEventProcessor:
    def __init__(
        self,
        db: Database,
        subscriptions: SubscriptionService,
        invoices: InvoiceService,
        stripe: StripeApi,
    ) -> None:
        self._db = db
        self._subscriptions = subscriptions
        self._invoices = invoices
        self._stripe = stripe

    # ------------------------------------------------------------ consumer path
    async def process(
        self, payload: Any, *, stream_seq: int | None, dead_letter_on_failure: bool
    ) -> str:
        """Store and apply one delivered event; return its outcome ("duplicate" if done before).

        Raises what the handler raised, after recording the failure
        (``dead_letter_on_failure``: this was the last delivery).
        """
        if isinstance(payload, bytes | str):
            # Whatever content type the intake labelled it with, a Stripe event is JSON.
            with contextlib.suppress(ValueError, RecursionError):
                payload = json.loads(payload)
        payload = storable(payload)
        try:
            event = StripeEvent.model_validate(payload)
        except ValidationError as exc:
            await self._record_unparsed(payload, stream_seq, exc)
            raise
        try:
            outcome = await self._apply_once(event, payload, stream_seq)
        except _AlreadyDone:
            return "duplicate"
        except Exception as exc:
            dead = dead_letter_on_failure or isinstance(exc, PermanentFailure)
            await self.record_failure(event.id, event.type, payload, stream_seq, exc, dead=dead)
            raise
        log.info("stripe.event_applied", stripe_event=event.id, type=event.type, outcome=outcome)
        return outcome

    async def _apply_once(
        self, event: StripeEvent, payload: Any, stream_seq: int | None
    ) -> Outcome:
        async with self._db.transaction() as session:
            outcome = await self.apply(session, event)
            if not await stored_events.record_processed(
                session,
                event_id=event.id,
                event_type=event.type,
                payload=payload,
                stream_seq=stream_seq,
                outcome=outcome,
            ):
                raise _AlreadyDone
        return outcome

    async def _record_unparsed(
        self, payload: Any, stream_seq: int | None, exc: ValidationError
    ) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            return
        event_id, event_type = payload["id"][:255], str(payload.get("type", "unknown"))[:128]
        await self.record_failure(event_id, event_type, payload, stream_seq, exc, dead=True)

    async def record_failure(
        self,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        stream_seq: int | None,
        error: BaseException,
        *,
        dead: bool,
    ) -> None:
        """Store the event as failed (``dead``: dead-lettered) with its error, on its own."""
        async with self._db.transaction() as session:
            await stored_events.record_failure(
                session,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                stream_seq=stream_seq,
                error=describe(error),
                dead_lettered=dead,
            )

    # ------------------------------------------------------------ replay path
    async def reapply(
        self, event: StripeEvent, payload: dict[str, Any], stream_seq: int
    ) -> Outcome:
        """Apply a replayed event again (idempotent); one never stored, or failed, is stored done."""
        async with self._db.transaction() as session:
            status = await stored_events.status_of(session, event.id)
            outcome = await self.apply(session, event)
            if status not in DONE:
                if status is None:
                    await stored_events.record_received(
                        session,
                        event_id=event.id,
                        event_type=event.type,
                        payload=payload,
                        stream_seq=stream_seq,
                    )
                await stored_events.finish(session, event.id, outcome=outcome)
        return outcome

    async def dry_run(self, event: StripeEvent) -> Outcome:
        """What applying ``event`` would do, in a transaction that is rolled back."""
        outcome: Outcome = "unchanged"
        with contextlib.suppress(_DryRun):
            async with self._db.transaction() as session:
                outcome = await self.apply(session, event)
                raise _DryRun
        return outcome

    async def page(
        self,
        *,
        status: StripeEventStatus | None,
        event_type: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[StripeEventView], str | None]:
        """Stored events, newest first, for operators."""
        async with self._db.session() as session:
            return await stored_events.page(
                session, status=status, event_type=event_type, limit=limit, cursor=cursor
            )

    async def refresh(self) -> None:
        """Forget cached configuration before a replay (the operator may just have fixed it)."""
        await self._subscriptions.refresh_prices()

    # ------------------------------------------------------------ rules per event type
    async def apply(self, session: AsyncSession, event: StripeEvent) -> Outcome:
        """Apply ``event`` in ``session``'s transaction; newer stored state is never overwritten."""
        kind = event.type
        if kind in SUBSCRIPTION_EVENTS:
            return await self._subscriptions.apply_stripe(
                session, event.object, version=event.created, event_id=event.id
            )
        if kind in INVOICE_EVENTS:
            return await self._invoice(session, event)
        if kind in CHECKOUT_EVENTS:
            return await self._checkout_completed(session, event)
        if kind in CUSTOMER_EVENTS:
            return await self._customer(session, event)
        return "ignored"

    async def _invoice(self, session: AsyncSession, event: StripeEvent) -> Outcome:
        obj = event.object
        outcome = await self._invoices.apply_stripe(
            session, obj, version=event.created, event_id=event.id, event_type=event.type
        )
        subscription_id = obj.get("subscription")
        if event.type == "invoice.payment_failed" and subscription_id and self._stripe.configured:
            # A failed renewal moves the subscription to past_due: take its state from Stripe.
            current = await self._stripe.retrieve_subscription(str(subscription_id))
            sub_outcome = await self._subscriptions.apply_stripe(
                session, current, version=event.created, event_id=event.id
            )
            if sub_outcome == "applied":
                return "applied"
        return outcome

    async def _checkout_completed(self, session: AsyncSession, event: StripeEvent) -> Outcome:
        obj = event.object
        tenant_id = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("tenant_id")
        if not tenant_id or obj.get("mode", "subscription") != "subscription":
            return "ignored"
        linked = False
        if obj.get("customer"):
            linked = await self._subscriptions.link_customer(
                session, str(tenant_id), str(obj["customer"])
            )
        outcome: Outcome = "applied" if linked else "unchanged"
        subscription_id = obj.get("subscription")
        if subscription_id and self._stripe.configured:
            current = await self._stripe.retrieve_subscription(str(subscription_id))
            if (
                await self._subscriptions.apply_stripe(
                    session, current, version=event.created, event_id=event.id
                )
                == "applied"
            ):
                outcome = "applied"
        return outcome

    async def _customer(self, session: AsyncSession, event: StripeEvent) -> Outcome:
        obj = event.object
        tenant_id = (obj.get("metadata") or {}).get("tenant_id")
        if not tenant_id:
            return "ignored"
        linked = await self._subscriptions.link_customer(session, str(tenant_id), str(obj["id"]))
        return "applied" if linked else "unchanged"
