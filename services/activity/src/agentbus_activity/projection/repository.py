"""SQL of the projection: writing feed items (to the feed or a rebuild's table) and people's names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_activity import naming
from agentbus_activity.models import people
from agentbus_shared.contracts.activity import ActivityItem, ActivitySubject, Actor
from agentbus_shared.contracts.subjects import ActivityAudience


@dataclass(frozen=True)
class FeedItemRecord:
    """One row of ``feed_items`` (and of ``feed_items_rebuild``)."""

    id: str
    tenant_id: str
    kind: str
    summary: str
    occurred_at: datetime
    audience: ActivityAudience
    actor_id: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    subject_label: str | None = None
    subject_href: str | None = None
    concerns_user_id: str | None = None

    def row(self) -> dict[str, Any]:
        """The item as the row to insert (a shallow copy: its values are immutable)."""
        return dict(vars(self))

    def mentioned(self) -> set[str]:
        """The users whose names the item needs."""
        found = naming.mentioned(self.summary) | naming.mentioned(self.subject_label or "")
        return found | ({self.actor_id} if self.actor_id else set())

    def view(
        self, labels: Mapping[str, str], *, read: bool = False, dismissed: bool = False
    ) -> ActivityItem:
        """The item as a viewer sees it (``read`` and ``dismissed`` are theirs), its people
        named by ``labels``."""
        actor = None
        if self.actor_id:
            actor = Actor(id=self.actor_id, label=naming.label(self.actor_id, labels))
        return ActivityItem(
            id=self.id,
            kind=self.kind,
            actor=actor,
            subject=self._subject(labels),
            summary=naming.render(self.summary, labels),
            occurred_at=self.occurred_at,
            read=read,
            dismissed=dismissed,
            audience=self.audience,
        )

    def _subject(self, labels: Mapping[str, str]) -> ActivitySubject | None:
        if not (self.subject_type and self.subject_id and self.subject_href):
            return None
        return ActivitySubject.model_validate(
            {
                "type": self.subject_type,
                "id": self.subject_id,
                "label": naming.render(self.subject_label or "", labels),
                "href": self.subject_href,
            }
        )


async def insert_items(
    session: AsyncSession, table: Table, items: Sequence[FeedItemRecord]
) -> set[str]:
    """Add ``items`` to ``table`` unless already there (same id: the same event); the ids added."""
    if not items:
        return set()
    result = await session.execute(
        insert(table)
        .values([item.row() for item in items])
        .on_conflict_do_nothing(index_elements=[table.c.id])
        .returning(table.c.id)
    )
    return set(result.scalars())


async def add_items(session: AsyncSession, table: Table, items: Sequence[FeedItemRecord]) -> None:
    """Add ``items`` to ``table`` unless already there, in bulk (a rebuild's batch)."""
    if items:
        await session.execute(
            insert(table).on_conflict_do_nothing(index_elements=[table.c.id]),
            [item.row() for item in items],
        )


async def remember_people(
    session: AsyncSession, tenant_id: str, labels: Iterable[tuple[str, str]]
) -> None:
    """Learn how to name users of ``tenant_id`` (``(user_id, label)``; the latest wins)."""
    latest = dict(labels)  # one row per user: a statement may not update a row twice
    rows = [
        {"tenant_id": tenant_id, "user_id": user, "label": label} for user, label in latest.items()
    ]
    if not rows:
        return
    statement = insert(people).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[people.c.tenant_id, people.c.user_id],
            set_={"label": statement.excluded.label, "updated_at": statement.excluded.updated_at},
        )
    )


async def labels_of(
    session: AsyncSession, tenant_id: str, user_ids: Iterable[str]
) -> dict[str, str]:
    """The labels known for ``user_ids`` of ``tenant_id``, by user id."""
    found = await labels_by_tenant(session, ((tenant_id, user_id) for user_id in user_ids))
    return found.get(tenant_id, {})


async def labels_by_tenant(
    session: AsyncSession, mentioned: Iterable[tuple[str, str]]
) -> dict[str, dict[str, str]]:
    """The labels known for ``(tenant_id, user_id)`` pairs, by tenant then user, in one query."""
    wanted = sorted(set(mentioned))
    found: dict[str, dict[str, str]] = {}
    if not wanted:
        return found
    rows = await session.execute(
        select(people.c.tenant_id, people.c.user_id, people.c.label).where(
            tuple_(people.c.tenant_id, people.c.user_id).in_(wanted)
        )
    )
    for row in rows:
        found.setdefault(row.tenant_id, {})[row.user_id] = row.label
    return found
