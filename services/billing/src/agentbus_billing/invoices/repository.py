"""All SQL about invoices (every query scoped by tenant, except lookups by Stripe id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import invoices
from agentbus_shared.contracts.billing import InvoiceView
from agentbus_shared.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class InvoiceRecord:
    id: str
    tenant_id: str
    number: str | None
    status: str
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


class InvoiceRepository:
    async def get_for_update(self, session: AsyncSession, invoice_id: str) -> StoredInvoice | None:
        row = (
            await session.execute(
                select(invoices).where(invoices.c.id == invoice_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        record = InvoiceRecord(**{name: getattr(row, name) for name in _FIELDS})
        return StoredInvoice(record, int(row.stripe_version), row.stripe_event_id)

    async def save(
        self,
        session: AsyncSession,
        record: InvoiceRecord,
        *,
        stripe_version: int,
        stripe_event_id: str | None,
    ) -> None:
        values = {name: getattr(record, name) for name in _FIELDS}
        values |= {"stripe_version": stripe_version, "stripe_event_id": stripe_event_id}
        await session.execute(
            insert(invoices)
            .values(**values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )

    async def page(
        self, session: AsyncSession, tenant_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[InvoiceView], str | None]:
        """The tenant's invoices, newest first."""
        query = select(invoices).where(invoices.c.tenant_id == tenant_id)
        if cursor:
            created_at, invoice_id = decode_cursor(cursor, datetime, str)
            query = query.where(
                or_(
                    invoices.c.created_at < created_at,
                    tuple_(invoices.c.created_at, invoices.c.id) < tuple_(created_at, invoice_id),
                )
            )
        rows = (
            await session.execute(
                query.order_by(invoices.c.created_at.desc(), invoices.c.id.desc()).limit(limit + 1)
            )
        ).all()
        items = [InvoiceRecord(**{n: getattr(r, n) for n in _FIELDS}).view() for r in rows[:limit]]
        next_cursor = (
            encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
            if len(rows) > limit
            else None
        )
        return items, next_cursor
