"""Invoice rules: Stripe's newest invoice state wins; every change is announced."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.deprovision import repository as deprovisioned
from agentbus_billing.invoices import repository as invoices
from agentbus_billing.invoices.repository import InvoiceRecord
from agentbus_billing.locks import lock_for_transaction
from agentbus_billing.models import outbox
from agentbus_billing.outcomes import Outcome
from agentbus_billing.periods import from_unix
from agentbus_billing.states import invoice_status
from agentbus_billing.stripe_api.client import StripeDict
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_shared.contracts.billing import InvoiceChanged, InvoiceStatus, InvoiceView
from agentbus_shared.contracts.events import make_event
from agentbus_shared.db import Database

# Within one second an invoice only moves forward: draft -> open -> paid/void/uncollectible.
_RANK: dict[InvoiceStatus, int] = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


class InvoiceService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(
        self, tenant_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[InvoiceView], str | None]:
        async with self._db.session() as session:
            return await invoices.page(session, tenant_id, limit=limit, cursor=cursor)

    async def apply_stripe(
        self,
        session: AsyncSession,
        obj: StripeDict,
        *,
        version: int,
        event_id: str,
        event_type: str,
    ) -> Outcome:
        """Apply a Stripe invoice, in the caller's transaction, unless newer state is stored."""
        tenant_id = await self._tenant_for(session, obj)
        if tenant_id is None or await deprovisioned.tenant_deleted(session, tenant_id):
            return "ignored"
        record = _record(obj, tenant_id)
        await lock_for_transaction(session, f"invoice:{record.id}")
        stored = await invoices.for_update(session, record.id)
        if stored is not None:
            if version < stored.stripe_version:
                return "stale"
            if version == stored.stripe_version and (
                _RANK[record.status] <= _RANK[stored.record.status]
            ):
                # Same second, not further along: the state stored first stays (replay-stable).
                return "unchanged" if stored.record == record else "stale"
            if stored.record == record:
                if version > stored.stripe_version:
                    await invoices.save(
                        session, record, stripe_version=version, stripe_event_id=event_id
                    )
                return "unchanged"
        await invoices.save(session, record, stripe_version=version, stripe_event_id=event_id)
        await outbox.emit(
            session,
            make_event(
                InvoiceChanged(
                    tenant_id=tenant_id,
                    invoice_id=record.id,
                    status=record.status,
                    amount_due=record.amount_due,
                    amount_paid=record.amount_paid,
                    currency=record.currency,
                    stripe_event_type=event_type,
                ),
                tenant_id=tenant_id,
            ),
        )
        return "applied"

    async def _tenant_for(self, session: AsyncSession, obj: StripeDict) -> str | None:
        for metadata in (
            obj.get("metadata") or {},
            (obj.get("subscription_details") or {}).get("metadata") or {},
        ):
            if metadata.get("tenant_id"):
                return str(metadata["tenant_id"])
        customer = obj.get("customer")
        if customer:
            found = await subscriptions.tenant_of_customer(session, str(customer))
            if found:
                return found
        subscription = obj.get("subscription")
        if subscription:
            return await subscriptions.tenant_of_subscription(session, str(subscription))
        return None


def _record(obj: StripeDict, tenant_id: str) -> InvoiceRecord:
    lines = (obj.get("lines") or {}).get("data") or []
    line_period = (lines[0].get("period") or {}) if lines else {}
    return InvoiceRecord(
        id=str(obj["id"]),
        tenant_id=tenant_id,
        number=obj.get("number"),
        status=invoice_status(obj.get("status")),
        amount_due=int(obj.get("amount_due") or 0),
        amount_paid=int(obj.get("amount_paid") or 0),
        currency=str(obj.get("currency") or "usd"),
        created_at=from_unix(obj.get("created")) or datetime.now(UTC),
        period_start=from_unix(obj.get("period_start") or line_period.get("start")),
        period_end=from_unix(obj.get("period_end") or line_period.get("end")),
        hosted_invoice_url=obj.get("hosted_invoice_url"),
    )
