"""Retention: the feed keeps ``ACTIVITY_RETENTION_DAYS`` days; a periodic sweep deletes the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from agentbus_activity.metrics import ITEMS_EXPIRED
from agentbus_activity.retention import repository as retention
from agentbus_shared.db import Database
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class RetentionSweep:
    def __init__(
        self,
        db: Database,
        cutoff: Callable[[], datetime],
        *,
        interval: float,
        batch: int,
    ) -> None:
        self._db = db
        self._cutoff = cutoff
        self._interval = interval
        self._batch = batch

    async def run(self) -> None:
        """Sweep every ``interval`` seconds, for the life of the process."""
        while True:
            await self.sweep()
            await asyncio.sleep(self._interval)

    async def sweep(self) -> int:
        """Delete every item past the retention, a batch per transaction; how many."""
        cutoff = self._cutoff()
        deleted = 0
        while True:
            async with self._db.transaction() as session:
                count = await retention.delete_older_than(session, cutoff, limit=self._batch)
            deleted += count
            ITEMS_EXPIRED.inc(count)
            if count < self._batch:
                break
        if deleted:
            log.info("retention.swept", deleted=deleted, cutoff=cutoff.isoformat())
        return deleted
