"""Contract of the activity service: RPC ``rpc.activity.v1.*``, the tenant's feed routes and the
live feed items it publishes on ``activity.feed.*`` (:mod:`agentbus_shared.contracts.subjects`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import Field

from agentbus_shared.contracts.common import Contract, Page, PageQuery, Role, Scope
from agentbus_shared.contracts.http import Route, RouteTable
from agentbus_shared.contracts.subjects import ActivityAudience

SERVICE = "activity"

FEED_ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
"""The roles that see a feed's ``admins`` items (and hear them live), besides the user an item
concerns."""


def sees_admins_items(roles: Iterable[str]) -> bool:
    """Whether a person with ``roles`` sees the ``admins`` part of their tenant's feed."""
    return any(role in FEED_ADMIN_ROLES for role in roles)


SubjectType = Literal["conversation", "member", "tenant", "subscription", "invoice", "usage"]
"""What a feed item is about; the web app picks its icon and wording by it."""


class Actor(Contract):
    """Who did what the item tells (a user, or the system when ``None`` on the item)."""

    id: str
    label: str


class ActivitySubject(Contract):
    """What the item is about, with the web app path that opens it (``/chat/<id>``, ``/team``)."""

    type: SubjectType
    id: str
    label: str
    href: str = Field(description="a path of the web app, e.g. /chat/<conversation>, /billing")


class ActivityItem(Contract):
    """One entry of a tenant's feed, as one viewer sees it (``read``/``dismissed`` are theirs).

    The live feed (``activity.feed.<tenant>.<audience>`` and ``activity.feed.<tenant>.user.<user>``)
    carries new items as this JSON with ``read`` and ``dismissed`` false."""

    id: str
    kind: str = Field(description="the event type it was made from, e.g. member.changed")
    actor: Actor | None = None
    subject: ActivitySubject | None = None
    summary: str
    occurred_at: datetime
    read: bool = False
    dismissed: bool = False
    audience: ActivityAudience = Field(
        description="members: every member may see it; admins: owners, admins and the user "
        "it concerns"
    )


class ActivityQuery(PageQuery):
    """``GET /activity``: newest first; filters combine."""

    kind: str | None = Field(None, min_length=1, max_length=64)
    actor: str | None = Field(None, min_length=1, max_length=64, description="an actor's id")
    unread: bool | None = Field(None, description="true: only unread items; false: only read")


class ActivityItemRef(Contract):
    item_id: str = Field(min_length=1, max_length=64)


class UnreadCount(Contract):
    unread: int = Field(ge=0)


class ReadAllRequest(Contract):
    """``POST /activity/read-all``: without ``up_to``, every item the caller may see."""

    up_to: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="the id of the newest item the caller has seen: only it and the items "
        "before it in the feed's order are marked read, not those that came after",
    )


class ReadAllResult(Contract):
    marked: int = Field(ge=0, description="items that were unread and are now read")


class Operation:
    PING = "ping"
    FEED_LIST = "feed.list"
    UNREAD_COUNT = "feed.unread_count"
    ITEM_READ = "item.read"
    ITEM_DISMISS = "item.dismiss"
    READ_ALL = "feed.read_all"


# ------------------------------------------------------------------ routes
_routes = RouteTable(SERVICE, prefix="/api/v1/activity", tags=("activity",))


ROUTES: tuple[Route, ...] = (
    _routes.get(
        "",
        Operation.FEED_LIST,
        "The tenant's activity feed, as the caller may see it",
        access="user",
        scopes=(Scope.TENANT_READ,),
        query=ActivityQuery,
        response=Page[ActivityItem],
    ),
    _routes.get(
        "/unread-count",
        Operation.UNREAD_COUNT,
        "How many feed items the caller has not read",
        access="user",
        scopes=(Scope.TENANT_READ,),
        response=UnreadCount,
    ),
    _routes.post(
        "/{item_id}/read",
        Operation.ITEM_READ,
        "Mark one feed item read",
        access="user",
        scopes=(Scope.TENANT_READ,),
        status=204,
    ),
    _routes.post(
        "/{item_id}/dismiss",
        Operation.ITEM_DISMISS,
        "Dismiss one feed item (hidden from the caller's feed)",
        access="user",
        scopes=(Scope.TENANT_READ,),
        status=204,
    ),
    _routes.post(
        "/read-all",
        Operation.READ_ALL,
        "Mark every feed item the caller may see read, or those up to one item",
        access="user",
        scopes=(Scope.TENANT_READ,),
        body=ReadAllRequest,
        optional_body=True,
        response=ReadAllResult,
    ),
)
"""``GET /activity/stream`` is the gateway's own SSE route over ``activity.feed.<tenant>.*``."""
