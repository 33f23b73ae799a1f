"""All SQL about invoices (every query scoped by tenant, except lookups by Stripe id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import invoices
from agentbus_billing.states import invoice_status
from agentbus_shared.contracts.billing import InvoiceStatus, InvoiceView
from agentbus_shared.pagination import newest_first


@dataclass(frozen=True)
class InvoiceRecord:
    id: str
    tenant_id: str
    number: str | None
    status: InvoiceStatus
    amount_due: int
    amount_paid: int
    currency: str
    created_at: datetime
    period_start: datetime | None
    period_end: datetime | None
    hosted_invoice_url: str | None

    def view(self) -> InvoiceView:
        return InvoiceView(
            id=self.id,
            number=self.number,
            status=self.status,
            amount_due=self.amount_due,
            amount_paid=self.amount_paid,
            currency=self.currency,
            created_at=self.created_at,
            period_start=self.period_start,
            period_end=self.period_end,
            hosted_invoice_url=self.hosted_invoice_url,
        )


@dataclass(frozen=True)
class StoredInvoice:
    record: InvoiceRecord
    stripe_version: int
    stripe_event_id: str | None


_FIELDS = (
    "id",
    "tenant_id",
    "number",
    "status",
    "amount_due",
    "amount_paid",
    "currency",
    "created_at",
    "period_start",
    "period_end",
    "hosted_invoice_url",
)


async def for_update(session: AsyncSession, invoice_id: str) -> StoredInvoice | None:
    """The stored invoice, locked for this transaction."""
    query = select(invoices).where(invoices.c.id == invoice_id).with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return StoredInvoice(_record(row), int(row.stripe_version), row.stripe_event_id)


async def save(
    session: AsyncSession, record: InvoiceRecord, *, stripe_version: int, stripe_event_id: str
) -> None:
    values = {name: getattr(record, name) for name in _FIELDS}
    values |= {"stripe_version": stripe_version, "stripe_event_id": stripe_event_id}
    await session.execute(
        insert(invoices).values(**values).on_conflict_do_update(index_elements=["id"], set_=values)
    )


async def page(
    session: AsyncSession, tenant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[InvoiceView], str | None]:
    """The tenant's invoices, newest first."""
    query = select(invoices).where(invoices.c.tenant_id == tenant_id)
    return await newest_first(
        session,
        query,
        (invoices.c.created_at, invoices.c.id),
        lambda row: _record(row).view(),
        limit=limit,
        cursor=cursor,
    )


def _record(row: Row[Any]) -> InvoiceRecord:
    values: dict[str, Any] = {name: getattr(row, name) for name in _FIELDS}
    values["status"] = invoice_status(row.status)
    return InvoiceRecord(**values)
