"""Usage rules: each chat run metered once, per tenant, meter and period; thresholds announced."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.deprovision import repository as deprovisioned
from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.models import outbox
from agentbus_billing.periods import period_at
from agentbus_billing.subscriptions import repository as subscriptions
from agentbus_billing.usage import repository as usage
from agentbus_billing.usage.repository import RunUsage
from agentbus_shared.contracts.billing import Meter, MeterUsage, UsageThresholdReached, UsageView
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.db import Database
from agentbus_shared.errors import PermanentFailure

THRESHOLDS = (80, 100)
METERS: tuple[Meter, ...] = ("messages", "tokens")


class UsageService:
    def __init__(self, db: Database, entitlements: EntitlementsService) -> None:
        self._db = db
        self._entitlements = entitlements

    async def record(self, event: CloudEvent[UsageRecorded]) -> bool:
        """Meter one run (the event id is the run id); False when it was metered before."""
        data = event.data
        if data.tenant_id != event.tenantid:
            raise PermanentFailure("The usage event's tenant does not match its envelope.")
        tenant_id = data.tenant_id
        async with self._db.transaction() as session:
            if await deprovisioned.tenant_deleted(session, tenant_id):
                return False
            row = await subscriptions.of_tenant(session, tenant_id)
            start = row.state.current_period_start if row else None
            end = row.state.current_period_end if row else None
            period = period_at(data.recorded_at, start, end)
            run = RunUsage(
                event_id=event.id,
                tenant_id=tenant_id,
                period_start=period.start,
                messages=data.messages,
                tokens=data.input_tokens + data.output_tokens,
                recorded_at=data.recorded_at,
            )
            if not await usage.add_record(session, run):
                return False
            for meter in METERS:
                if amount := getattr(run, meter):
                    await usage.add(session, tenant_id, meter, period.start, amount)
            await self._announce_thresholds(session, tenant_id)
            await self._entitlements.mark(session, tenant_id)
        return True

    async def _announce_thresholds(self, session: AsyncSession, tenant_id: str) -> None:
        entitlements = await self._entitlements.compute(session, tenant_id)
        for meter in METERS:
            limit = getattr(entitlements.limits, meter)
            used = entitlements.used.get(meter, 0)
            if not limit:
                continue
            for percent in THRESHOLDS:
                if used * 100 < percent * limit:
                    break
                if await usage.note_threshold(
                    session, tenant_id, meter, entitlements.period_start, percent
                ):
                    await outbox.emit(
                        session,
                        make_event(
                            UsageThresholdReached(
                                tenant_id=tenant_id,
                                meter=meter,
                                used=used,
                                limit=limit,
                                percent=percent,
                            ),
                            tenant_id=tenant_id,
                        ),
                    )

    async def view(self, tenant_id: str) -> UsageView:
        entitlements = await self._entitlements.get(tenant_id)
        return UsageView(
            plan=entitlements.plan,
            period_start=entitlements.period_start,
            period_end=entitlements.period_end,
            meters=[
                MeterUsage(
                    meter=meter,
                    used=entitlements.used.get(meter, 0),
                    limit=getattr(entitlements.limits, meter),
                )
                for meter in METERS
            ],
        )
