"""SQL of the feed as viewers read it: what one viewer may see, and their read and dismiss marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity.models import feed_items, item_states
from agentbus_activity.projection.repository import FeedItemRecord
from agentbus_shared.pagination import newest_first

Mark = Literal["read_at", "dismissed_at"]


@dataclass(frozen=True)
class Viewer:
    """Who reads the feed: members' items for all, admins' items for owners and admins, and the
    items about themselves for everyone."""

    tenant_id: str
    user_id: str
    admin: bool


@dataclass(frozen=True)
class FeedPlace:
    """An item's place in the feed's order: its time, then its id breaking ties."""

    occurred_at: datetime
    item_id: str


@dataclass(frozen=True)
class FeedFilter:
    kind: str | None = None
    actor: str | None = None
    unread: bool | None = None


def _visible(viewer: Viewer) -> ColumnElement[bool]:
    mine = feed_items.c.tenant_id == viewer.tenant_id
    if viewer.admin:
        return and_(mine, true())
    return and_(
        mine,
        or_(feed_items.c.audience == "members", feed_items.c.concerns_user_id == viewer.user_id),
    )


def _joined(viewer: Viewer) -> Any:
    return feed_items.outerjoin(
        item_states,
        and_(item_states.c.item_id == feed_items.c.id, item_states.c.user_id == viewer.user_id),
    )


_RECORD_COLUMNS = tuple(column.name for column in feed_items.c if column.name != "created_at")


def _record(row: Row[Any]) -> FeedItemRecord:
    values = row._mapping
    return FeedItemRecord(**{name: values[name] for name in _RECORD_COLUMNS})


@dataclass(frozen=True)
class SeenItem:
    """A feed item with one viewer's marks on it."""

    item: FeedItemRecord
    read: bool
    dismissed: bool


def _seen(row: Row[Any]) -> SeenItem:
    return SeenItem(_record(row), row.read_at is not None, row.dismissed_at is not None)


async def page(
    session: AsyncSession, viewer: Viewer, where: FeedFilter, *, limit: int, cursor: str | None
) -> tuple[list[SeenItem], str | None]:
    """The viewer's feed, newest event first, without the items they dismissed."""
    query = (
        select(feed_items, item_states.c.read_at, item_states.c.dismissed_at)
        .select_from(_joined(viewer))
        .where(_visible(viewer), item_states.c.dismissed_at.is_(None))
    )
    if where.kind is not None:
        query = query.where(feed_items.c.kind == where.kind)
    if where.actor is not None:
        query = query.where(feed_items.c.actor_id == where.actor)
    if where.unread is True:
        query = query.where(item_states.c.read_at.is_(None))
    elif where.unread is False:
        query = query.where(item_states.c.read_at.is_not(None))
    return await newest_first(
        session,
        query,
        (feed_items.c.occurred_at, feed_items.c.id),
        _seen,
        limit=limit,
        cursor=cursor,
    )


async def unread_count(session: AsyncSession, viewer: Viewer) -> int:
    """Items the viewer may see and has neither read nor dismissed."""
    query = (
        select(func.count())
        .select_from(_joined(viewer))
        .where(
            _visible(viewer),
            item_states.c.read_at.is_(None),
            item_states.c.dismissed_at.is_(None),
        )
    )
    return int((await session.execute(query)).scalar_one())


async def visible(session: AsyncSession, viewer: Viewer, item_id: str) -> bool:
    """Whether ``item_id`` is an item of the viewer's tenant they may see."""
    return await place(session, viewer, item_id) is not None


async def place(session: AsyncSession, viewer: Viewer, item_id: str) -> FeedPlace | None:
    """Where ``item_id`` stands in the feed's order, if it is an item the viewer may see."""
    query = select(feed_items.c.occurred_at, feed_items.c.id).where(
        feed_items.c.id == item_id, _visible(viewer)
    )
    row = (await session.execute(query)).first()
    return None if row is None else FeedPlace(row.occurred_at, row.id)


async def mark(
    session: AsyncSession, viewer: Viewer, item_id: str, what: Mark, at: datetime
) -> None:
    """Set the viewer's ``read_at`` or ``dismissed_at`` of ``item_id`` (the first time only)."""
    statement = insert(item_states).values(
        item_id=item_id, user_id=viewer.user_id, tenant_id=viewer.tenant_id, **{what: at}
    )
    column = item_states.c[what]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[item_states.c.item_id, item_states.c.user_id],
            set_={what: func.coalesce(column, statement.excluded[what])},
        )
    )


def _up_to(place: FeedPlace | None) -> ColumnElement[bool]:
    if place is None:
        return and_(true())
    row = tuple_(feed_items.c.occurred_at, feed_items.c.id)
    return row <= tuple_(
        literal(place.occurred_at, DateTime(timezone=True)), literal(place.item_id)
    )


async def mark_all_read(
    session: AsyncSession, viewer: Viewer, at: datetime, up_to: FeedPlace | None = None
) -> int:
    """Mark read every item the viewer may see and has neither read nor dismissed, only those
    at or before ``up_to`` in the feed's order when given; how many."""
    seen = exists().where(
        item_states.c.item_id == feed_items.c.id,
        item_states.c.user_id == viewer.user_id,
        or_(item_states.c.read_at.is_not(None), item_states.c.dismissed_at.is_not(None)),
    )
    unread = select(
        feed_items.c.id,
        literal(viewer.user_id),
        literal(viewer.tenant_id),
        literal(at, DateTime(timezone=True)),
    ).where(_visible(viewer), _up_to(up_to), ~seen)
    statement = insert(item_states).from_select(
        ["item_id", "user_id", "tenant_id", "read_at"], unread
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[item_states.c.item_id, item_states.c.user_id],
            set_={"read_at": statement.excluded.read_at},
        ).returning(item_states.c.item_id)
    )
    return len(result.all())
