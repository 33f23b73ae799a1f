"""SQL of a rebuild by replay: its running mark, its table of replayed items and the swap."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity.errors import RebuildTakenOver
from agentbus_activity.models import (
    SCHEMA,
    feed_items,
    feed_items_rebuild,
    item_states,
    processed_events,
    rebuilds,
)
from agentbus_shared.db.tenant_deletion import DELETED_TENANTS

_COLUMNS = tuple(column.name for column in feed_items.c)


async def start(
    session: AsyncSession, rebuild_id: str, *, tenant_id: str | None, since: datetime | None
) -> bool:
    """Mark a rebuild running with an empty table to replay into; False when one already runs."""
    started = await session.execute(
        insert(rebuilds)
        .values(id=rebuild_id, tenant_id=tenant_id, since=since, status="running")
        .on_conflict_do_nothing(
            index_elements=[rebuilds.c.status], index_where=rebuilds.c.status == "running"
        )
        .returning(rebuilds.c.id)
    )
    if started.first() is None:
        return False
    await session.execute(text(f"TRUNCATE {SCHEMA}.{feed_items_rebuild.name}"))
    return True


async def abandon_running(session: AsyncSession) -> int:
    """Mark an interrupted rebuild failed (its process is gone); how many were running."""
    result = await session.execute(
        update(rebuilds)
        .where(rebuilds.c.status == "running")
        .values(status="failed", finished_at=func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def collecting(session: AsyncSession, tenant_ids: Collection[str]) -> set[str]:
    """Which of ``tenant_ids`` a running rebuild collects new items of, in one statement."""
    if not tenant_ids:
        return set()
    running = await session.execute(
        select(rebuilds.c.tenant_id).where(
            rebuilds.c.status == "running",
            or_(rebuilds.c.tenant_id.is_(None), rebuilds.c.tenant_id.in_(list(tenant_ids))),
        )
    )
    scopes = set(running.scalars())
    return set(tenant_ids) if None in scopes else {scope for scope in scopes if scope}


def _scope(table: Table, tenant_id: str | None, since: datetime | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [true()]
    if tenant_id is not None:
        conditions.append(table.c.tenant_id == tenant_id)
    if since is not None:
        conditions.append(table.c.occurred_at >= since)
    return and_(*conditions)


async def swap(
    session: AsyncSession,
    rebuild_id: str,
    *,
    tenant_id: str | None,
    since: datetime | None,
    replayed: int,
    gone: Collection[str] = (),
    kept_from: datetime | None = None,
) -> int:
    """Replace the feed's items in scope by the replayed ones, at once for every reader; the
    number of items in scope after it. :class:`RebuildTakenOver` when the rebuild is no longer
    the running one. Tenants in ``gone`` (being deprovisioned) or whose data was deleted get
    none back. Items older than ``kept_from`` (events the streams no longer keep) stay.

    The feed is locked against writes first: a live event being applied commits before (and
    has written its item to both tables), the next one after (to the feed only)."""
    await _close(session, rebuild_id, status="done", replayed=replayed)
    await session.execute(text(f"LOCK TABLE {SCHEMA}.{feed_items.name} IN EXCLUSIVE MODE"))
    floor = max((time for time in (since, kept_from) if time is not None), default=None)
    await session.execute(delete(feed_items).where(_scope(feed_items, tenant_id, floor)))
    await _leave_out(session, gone)
    rebuilt = select(*(feed_items_rebuild.c[name] for name in _COLUMNS)).where(
        _scope(feed_items_rebuild, tenant_id, since)
    )
    await session.execute(
        insert(feed_items)
        .from_select(list(_COLUMNS), rebuilt)
        .on_conflict_do_nothing(index_elements=[feed_items.c.id])
    )
    await _forget_states_of_gone_items(session, tenant_id)
    await session.execute(text(f"TRUNCATE {SCHEMA}.{feed_items_rebuild.name}"))
    in_scope = (
        select(func.count()).select_from(feed_items).where(_scope(feed_items, tenant_id, since))
    )
    return int((await session.execute(in_scope)).scalar_one())


async def _leave_out(session: AsyncSession, gone: Collection[str]) -> None:
    """No replayed item of a tenant being deprovisioned or whose data was deleted."""
    staged = feed_items_rebuild.c.tenant_id
    deleted = select(processed_events.c.event_id).where(
        processed_events.c.consumer == DELETED_TENANTS
    )
    await session.execute(delete(feed_items_rebuild).where(staged.in_(deleted)))
    if gone:
        await session.execute(delete(feed_items_rebuild).where(staged.in_(sorted(gone))))


async def _forget_states_of_gone_items(session: AsyncSession, tenant_id: str | None) -> None:
    gone = ~exists().where(feed_items.c.id == item_states.c.item_id)
    where: list[ColumnElement[bool]] = [gone]
    if tenant_id is not None:
        where.append(item_states.c.tenant_id == tenant_id)
    await session.execute(delete(item_states).where(*where))


async def _close(session: AsyncSession, rebuild_id: str, *, status: str, replayed: int) -> None:
    """Close the rebuild's mark with ``status`` and the number of events it replayed;
    :class:`RebuildTakenOver` when it is no longer running (another rebuild took over)."""
    values: dict[str, Any] = {"status": status, "replayed": replayed, "finished_at": func.now()}
    closed = await session.execute(
        update(rebuilds)
        .where(rebuilds.c.id == rebuild_id, rebuilds.c.status == "running")
        .values(**values)
        .returning(rebuilds.c.id)
    )
    if closed.first() is None:
        raise RebuildTakenOver()


async def discard(session: AsyncSession, rebuild_id: str) -> None:
    """A failed rebuild: its mark says so and its table is emptied; the feed stays as it was.
    A rebuild no longer running leaves the table alone: it is another rebuild's now."""
    try:
        await _close(session, rebuild_id, status="failed", replayed=0)
    except RebuildTakenOver:
        return
    await session.execute(text(f"TRUNCATE {SCHEMA}.{feed_items_rebuild.name}"))
