"""All SQL about usage records, per-period counters, threshold notices and meter reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.models import customers, usage_counters, usage_records, usage_thresholds

ReportStatus = Literal["pending", "reported", "skipped", "failed"]
"""Where a usage record stands with Stripe's meters (``pending`` until reported or given up)."""


@dataclass(frozen=True)
class RunUsage:
    """What one chat run used (the event id is the run id)."""

    event_id: str
    tenant_id: str
    period_start: datetime
    messages: int
    tokens: int
    recorded_at: datetime


@dataclass(frozen=True)
class PendingReport:
    event_id: str
    customer_id: str | None
    messages: int
    tokens: int
    recorded_at: datetime
    attempts: int


async def add_record(session: AsyncSession, usage: RunUsage) -> bool:
    """Store one run's usage; False when this run was already metered."""
    result = await session.execute(
        insert(usage_records)
        .values(
            event_id=usage.event_id,
            tenant_id=usage.tenant_id,
            period_start=usage.period_start,
            messages=usage.messages,
            tokens=usage.tokens,
            recorded_at=usage.recorded_at,
        )
        .on_conflict_do_nothing()
        .returning(usage_records.c.event_id)
    )
    return result.first() is not None


async def add(
    session: AsyncSession, tenant_id: str, meter: str, period_start: datetime, amount: int
) -> int:
    """Add ``amount`` to the counter (atomically) and return the new total."""
    stmt = (
        insert(usage_counters)
        .values(tenant_id=tenant_id, meter=meter, period_start=period_start, used=amount)
        .on_conflict_do_update(
            index_elements=["tenant_id", "meter", "period_start"],
            set_={"used": usage_counters.c.used + amount, "updated_at": func.now()},
        )
        .returning(usage_counters.c.used)
    )
    return int((await session.execute(stmt)).scalar_one())


async def used(session: AsyncSession, tenant_id: str, period_start: datetime) -> dict[str, int]:
    """Meter -> amount used by the tenant in the period starting at ``period_start``."""
    rows = await session.execute(
        select(usage_counters.c.meter, usage_counters.c.used).where(
            usage_counters.c.tenant_id == tenant_id,
            usage_counters.c.period_start == period_start,
        )
    )
    return {row.meter: int(row.used) for row in rows}


async def note_threshold(
    session: AsyncSession, tenant_id: str, meter: str, period_start: datetime, percent: int
) -> bool:
    """True the first time this period's ``percent`` threshold is reached for ``meter``."""
    result = await session.execute(
        insert(usage_thresholds)
        .values(tenant_id=tenant_id, meter=meter, period_start=period_start, percent=percent)
        .on_conflict_do_nothing()
        .returning(usage_thresholds.c.percent)
    )
    return result.first() is not None


# ------------------------------------------------------------ meter reports
async def claim_pending(session: AsyncSession, limit: int) -> list[PendingReport]:
    """Lock up to ``limit`` unreported records (others skip them) with their tenant's customer."""
    pending: ReportStatus = "pending"
    rows = await session.execute(
        select(
            usage_records.c.event_id,
            customers.c.stripe_customer_id,
            usage_records.c.messages,
            usage_records.c.tokens,
            usage_records.c.recorded_at,
            usage_records.c.report_attempts,
        )
        .select_from(
            usage_records.outerjoin(customers, customers.c.tenant_id == usage_records.c.tenant_id)
        )
        .where(usage_records.c.report_status == pending)
        .order_by(usage_records.c.recorded_at)
        .limit(limit)
        .with_for_update(of=usage_records, skip_locked=True)
    )
    return [
        PendingReport(
            event_id=r.event_id,
            customer_id=r.stripe_customer_id,
            messages=int(r.messages),
            tokens=int(r.tokens),
            recorded_at=r.recorded_at,
            attempts=int(r.report_attempts),
        )
        for r in rows
    ]


async def mark_report(
    session: AsyncSession, event_id: str, *, status: ReportStatus, error: str | None = None
) -> None:
    values: dict[str, object] = {
        "report_status": status,
        "last_error": error,
        "report_attempts": usage_records.c.report_attempts + 1,
    }
    if status != "pending":
        values["reported_at"] = func.now()
    await session.execute(
        update(usage_records).where(usage_records.c.event_id == event_id).values(**values)
    )
