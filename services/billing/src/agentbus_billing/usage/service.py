"""Usage rules: each chat run metered once, per tenant, meter and period; thresholds announced."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_billing.entitlements.service import EntitlementsService
from agentbus_billing.periods import period_at
from agentbus_billing.subscriptions.repository import SubscriptionRepository
from agentbus_billing.usage.repository import UsageRepository
from agentbus_shared.contracts.billing import MeterUsage, UsageThresholdReached, UsageView
from agentbus_shared.contracts.chat import UsageRecorded
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.db import Database, Outbox
from agentbus_shared.errors import PermanentFailure

THRESHOLDS = (80, 100)
METERS = ("messages", "tokens")


class UsageService:
    def __init__(self, db: Database, entitlements: EntitlementsService, outbox: Outbox) -> None:
        self._db = db
        self._entitlements = entitlements
        self._outbox = outbox
        self._usage = UsageRepository()
        self._subscriptions = SubscriptionRepository()

    async def record(self, session: AsyncSession, event: CloudEvent[UsageRecorded]) -> bool:
        """Meter one run (the event id is the run id); False when it was metered before."""
        data = event.data
        if data.tenant_id != event.tenantid:
            raise PermanentFailure("The usage event's tenant does not match its envelope.")
        tenant_id = data.tenant_id
        row = await self._subscriptions.get(session, tenant_id)
        start = row.state.current_period_start if row else None
        end = row.state.current_period_end if row else None
        period = period_at(data.recorded_at, start, end)
        amounts = {"messages": data.messages, "tokens": data.input_tokens + data.output_tokens}
        if not await self._usage.add_record(
            session,
            event_id=event.id,
            tenant_id=tenant_id,
            period_start=period.start,
            messages=amounts["messages"],
            tokens=amounts["tokens"],
            recorded_at=data.recorded_at,
        ):
            return False
        for meter in METERS:
            if amounts[meter]:
                await self._usage.add(session, tenant_id, meter, period.start, amounts[meter])
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
                if await self._usage.note_threshold(
                    session, tenant_id, meter, entitlements.period_start, percent
                ):
                    await self._outbox.emit(
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
