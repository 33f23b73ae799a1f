"""The live feed: each new item, once committed, on the core subjects of the viewers who may see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NatsClient

from agentbus_activity.projection.repository import FeedItemRecord
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.activity import ActivityItem


def audiences(item: FeedItemRecord) -> list[str]:
    """``activity.feed.<tenant>.members`` for every member's items; an admins item goes to
    ``…admins`` and, when it is about one user, to ``…user.<user>`` as well."""
    if item.audience == "members":
        return [subjects.activity_feed(item.tenant_id, "members")]
    found = [subjects.activity_feed(item.tenant_id, "admins")]
    if item.concerns_user_id:
        found.append(subjects.activity_feed_of_user(item.tenant_id, item.concerns_user_id))
    return found


class LiveFeed:
    """Publishes new feed items (core NATS: the gateway relays them to open feeds)."""

    def __init__(self, connection: Callable[[], NatsClient]) -> None:
        self._connection = connection

    async def publish(self, item: FeedItemRecord, view: ActivityItem) -> None:
        body = view.model_dump_json().encode()
        connection = self._connection()
        for subject in audiences(item):
            await connection.publish(subject, body)

    def announcer(self, item: FeedItemRecord, view: ActivityItem) -> Callable[[], Awaitable[None]]:
        """A callback publishing ``item`` as ``view``, for ``after_commit``."""

        async def announce() -> None:
            await self.publish(item, view)

        return announce
