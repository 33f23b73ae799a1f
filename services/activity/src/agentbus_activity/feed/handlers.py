"""The feed's operations: a viewer's page, unread count, read, dismiss and read all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_activity.feed.repository import FeedFilter
from agentbus_activity.feed.service import viewer_of
from agentbus_shared.bus import CallerPrincipal, Reply
from agentbus_shared.contracts.activity import (
    ActivityItem,
    ActivityItemRef,
    ActivityQuery,
    Operation,
    ReadAllRequest,
    ReadAllResult,
    UnreadCount,
)
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_activity.app import ActivityParts

READERS = {Scope.TENANT_READ}


def register(runtime: ServiceRuntime, parts: ActivityParts) -> None:
    operation = runtime.rpc_router.operation

    @operation(
        Operation.FEED_LIST,
        scopes=READERS,
        user_only=True,
        description="The tenant's activity feed, as the caller may see it.",
    )
    async def feed_list(query: ActivityQuery, principal: CallerPrincipal) -> Page[ActivityItem]:
        where = FeedFilter(kind=query.kind, actor=query.actor, unread=query.unread)
        items, cursor = await parts.feed.page(
            viewer_of(principal), where, limit=query.limit, cursor=query.cursor
        )
        return Page[ActivityItem](items=items, next_cursor=cursor)

    @operation(
        Operation.UNREAD_COUNT,
        scopes=READERS,
        user_only=True,
        description="How many feed items the caller has not read.",
    )
    async def unread_count(principal: CallerPrincipal) -> UnreadCount:
        return UnreadCount(unread=await parts.feed.unread(viewer_of(principal)))

    @operation(
        Operation.ITEM_READ, scopes=READERS, user_only=True, description="Mark one item read."
    )
    async def item_read(ref: ActivityItemRef, principal: CallerPrincipal) -> Reply[None]:
        await parts.feed.read(viewer_of(principal), ref.item_id)
        return Reply(None, status=204)

    @operation(
        Operation.ITEM_DISMISS,
        scopes=READERS,
        user_only=True,
        description="Hide one item from the caller's feed.",
    )
    async def item_dismiss(ref: ActivityItemRef, principal: CallerPrincipal) -> Reply[None]:
        await parts.feed.dismiss(viewer_of(principal), ref.item_id)
        return Reply(None, status=204)

    @operation(
        Operation.READ_ALL,
        scopes=READERS,
        user_only=True,
        description="Mark every item the caller may see read, or those up to one item.",
    )
    async def read_all(request: ReadAllRequest, principal: CallerPrincipal) -> ReadAllResult:
        marked = await parts.feed.read_all(viewer_of(principal), request.up_to)
        return ReadAllResult(marked=marked)
