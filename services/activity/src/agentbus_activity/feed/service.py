"""The feed as one viewer reads it: their page, their unread count, their read and dismiss marks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from agentbus_activity.errors import ActivityItemNotFound
from agentbus_activity.feed import repository as feed
from agentbus_activity.feed.repository import FeedFilter, Mark, Viewer
from agentbus_activity.projection import repository as people
from agentbus_shared.contracts.activity import ActivityItem, sees_admins_items
from agentbus_shared.contracts.common import Principal
from agentbus_shared.db import Database


def viewer_of(principal: Principal) -> Viewer:
    """The caller as a viewer of their tenant's feed (owners and admins see the admins' items)."""
    return Viewer(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        admin=sees_admins_items(principal.roles),
    )


class FeedService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._db = db
        self._clock = clock

    async def page(
        self, viewer: Viewer, where: FeedFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityItem], str | None]:
        async with self._db.session() as session:
            seen, cursor = await feed.page(session, viewer, where, limit=limit, cursor=cursor)
            mentioned = {user for row in seen for user in row.item.mentioned()}
            labels = await people.labels_of(session, viewer.tenant_id, mentioned)
        views = [row.item.view(labels, read=row.read, dismissed=row.dismissed) for row in seen]
        return views, cursor

    async def unread(self, viewer: Viewer) -> int:
        async with self._db.session() as session:
            return await feed.unread_count(session, viewer)

    async def read(self, viewer: Viewer, item_id: str) -> None:
        """Mark ``item_id`` read; :class:`ActivityItemNotFound` unless the viewer may see it."""
        await self._mark(viewer, item_id, "read_at")

    async def dismiss(self, viewer: Viewer, item_id: str) -> None:
        """Hide ``item_id`` from the viewer's feed; :class:`ActivityItemNotFound` unless they
        may see it."""
        await self._mark(viewer, item_id, "dismissed_at")

    async def read_all(self, viewer: Viewer, up_to: str | None = None) -> int:
        """Mark read every item the viewer may see, or only those up to ``up_to`` in the feed's
        order; how many were unread. :class:`ActivityItemNotFound` unless they may see
        ``up_to``."""
        async with self._db.transaction() as session:
            place = None
            if up_to is not None:
                place = await feed.place(session, viewer, up_to)
                if place is None:
                    raise ActivityItemNotFound()
            return await feed.mark_all_read(session, viewer, self._clock(), place)

    async def _mark(self, viewer: Viewer, item_id: str, what: Mark) -> None:
        async with self._db.transaction() as session:
            if not await feed.visible(session, viewer, item_id):
                raise ActivityItemNotFound()
            await feed.mark(session, viewer, item_id, what, self._clock())
