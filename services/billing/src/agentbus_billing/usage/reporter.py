"""``MeterReporter``: sends metered usage to Stripe Billing Meters, in batches, with retries.

Each run becomes one meter event per meter, whose ``identifier`` is
``<run id>:<meter>``: Stripe counts an identifier once, so a report retried
after a crash is not counted twice. Tenants without a Stripe customer (free
plans that never checked out) are not billed: their records are marked
``skipped``. A record that keeps failing is marked ``failed`` after
``max_attempts`` and logged.
"""

from __future__ import annotations

import asyncio

from agentbus_billing.plans.catalog import Catalog
from agentbus_billing.stripe_api.client import StripeApi, StripeRejected
from agentbus_billing.usage import repository as usage
from agentbus_billing.usage.repository import PendingReport, ReportStatus
from agentbus_shared.db import Database
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class MeterReporter:
    def __init__(
        self,
        db: Database,
        stripe: StripeApi,
        catalog: Catalog,
        *,
        batch_size: int = 100,
        interval: float = 5.0,
        concurrency: int = 8,
        max_attempts: int = 10,
    ) -> None:
        self._db = db
        self._stripe = stripe
        self._catalog = catalog
        self._batch_size = batch_size
        self._interval = interval
        self._concurrency = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts

    async def report_once(self) -> int:
        """Report one batch; return how many records were settled (reported or skipped)."""
        settled = 0
        async with self._db.transaction() as session:
            batch = await usage.claim_pending(session, self._batch_size)
            if not batch:
                return 0
            results = await asyncio.gather(*(self._report(record) for record in batch))
            for record, error in zip(batch, results, strict=True):
                status: ReportStatus
                if error is None:
                    status = "reported" if record.customer_id else "skipped"
                    settled += 1
                elif record.attempts + 1 >= self._max_attempts:
                    status = "failed"
                    log.error("usage.report_failed", run_id=record.event_id, error=error)
                else:
                    status = "pending"
                await usage.mark_report(session, record.event_id, status=status, error=error)
        return settled

    async def _report(self, record: PendingReport) -> str | None:
        if record.customer_id is None:
            return None
        values = {"messages": record.messages, "tokens": record.tokens}
        try:
            async with self._concurrency:
                for meter, value in values.items():
                    spec = self._catalog.meter(meter)
                    if spec is None or value <= 0:
                        continue
                    await self._stripe.report_meter_event(
                        event_name=spec.event_name,
                        customer_id=record.customer_id,
                        value=value,
                        identifier=f"{record.event_id}:{meter}",
                        timestamp=int(record.recorded_at.timestamp()),
                    )
        except StripeRejected as exc:
            return f"{exc.code}: {exc.message}"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    async def run(self) -> None:
        """Report until cancelled; idle while Stripe is not configured."""
        while True:
            settled = 0
            if self._stripe.configured:
                try:
                    settled = await self.report_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("usage.report_pass_failed", error=repr(exc))
            if settled < self._batch_size:
                await asyncio.sleep(self._interval)
