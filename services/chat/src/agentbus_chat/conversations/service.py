"""Rules of conversations: who may read, rename, delete and search what; pages and cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from agentbus_chat.conversations.repository import ConversationRepository, Owner
from agentbus_chat.models import outbox
from agentbus_shared.contracts.chat import (
    ConversationDeleted,
    ConversationView,
    MessageView,
    SearchHit,
)
from agentbus_shared.contracts.common import Page, Principal, Scope
from agentbus_shared.contracts.events import make_event
from agentbus_shared.db import Database, Outbox
from agentbus_shared.errors import Conflict, NotFound
from agentbus_shared.pagination import decode_cursor, encode_cursor

TITLE_CHARS = 80


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    default_message = "The conversation does not exist."


class ConversationBusy(Conflict):
    code = "conversation_busy"
    default_message = "A reply is still being written in this conversation; try again when it ends."


def title_from(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def conversation_view(row: Row[Any]) -> ConversationView:
    return ConversationView(
        id=row.id,
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_agent=row.last_agent,
    )


class ConversationService:
    def __init__(self, db: Database, repository: ConversationRepository) -> None:
        self._db = db
        self._repository = repository
        self._outbox = Outbox(outbox)

    async def list_recent(
        self, principal: Principal, *, limit: int, cursor: str | None
    ) -> Page[ConversationView]:
        principal.require(Scope.CONVERSATIONS_READ)
        after = decode_cursor(cursor, datetime, str) if cursor else None
        async with self._db.session() as session:
            rows = await self._repository.page(
                session, Owner.of(principal), limit=limit + 1, after=after
            )
        items = [conversation_view(r) for r in rows[:limit]]
        next_cursor = (
            encode_cursor(rows[limit - 1].updated_at, rows[limit - 1].id)
            if len(rows) > limit
            else None
        )
        return Page[ConversationView](items=items, next_cursor=next_cursor)

    async def get(self, principal: Principal, conversation_id: str) -> ConversationView:
        principal.require(Scope.CONVERSATIONS_READ)
        async with self._db.session() as session:
            row = await self._repository.get(session, Owner.of(principal), conversation_id)
        if row is None:
            raise ConversationNotFound()
        return conversation_view(row)

    async def messages(
        self, principal: Principal, conversation_id: str, *, limit: int, cursor: str | None
    ) -> Page[MessageView]:
        principal.require(Scope.CONVERSATIONS_READ)
        owner = Owner.of(principal)
        (after_seq,) = decode_cursor(cursor, int) if cursor else (None,)
        async with self._db.session() as session:
            if await self._repository.get(session, owner, conversation_id) is None:
                raise ConversationNotFound()
            rows = await self._repository.messages_page(
                session, owner, conversation_id, limit=limit + 1, after_seq=after_seq
            )
        items = [
            MessageView(
                id=r.id,
                role=r.role,
                agent=r.agent,
                content=r.content,
                created_at=r.created_at,
                status=r.status,
            )
            for r in rows[:limit]
        ]
        next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
        return Page[MessageView](items=items, next_cursor=next_cursor)

    async def rename(
        self, principal: Principal, conversation_id: str, title: str
    ) -> ConversationView:
        principal.require(Scope.CONVERSATIONS_WRITE)
        async with self._db.transaction() as session:
            row = await self._repository.rename(
                session, Owner.of(principal), conversation_id, title.strip() or title
            )
        if row is None:
            raise ConversationNotFound()
        return conversation_view(row)

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """Gone from lists, search and agent memory; refused while a run writes into it."""
        principal.require(Scope.CONVERSATIONS_DELETE)
        owner = Owner.of(principal)
        async with self._db.transaction() as session:
            row = await self._repository.get(session, owner, conversation_id)
            if row is None:
                raise ConversationNotFound()
            lease = row.lease_expires_at
            if row.active_run_id is not None and lease is not None and lease > datetime.now(UTC):
                raise ConversationBusy("Cancel the running reply before deleting the conversation.")
            await self._repository.soft_delete(session, owner, conversation_id)
            await self._outbox.emit(
                session,
                make_event(
                    ConversationDeleted(
                        tenant_id=owner.tenant_id,
                        conversation_id=conversation_id,
                        deleted_by=owner.user_id,
                    ),
                    tenant_id=owner.tenant_id,
                    event_id=f"evt_del_{conversation_id}",
                ),
            )

    async def search(
        self, principal: Principal, q: str, *, limit: int, cursor: str | None
    ) -> Page[SearchHit]:
        principal.require(Scope.CONVERSATIONS_READ)
        after = decode_cursor(cursor, float, int) if cursor else None
        async with self._db.session() as session:
            rows = await self._repository.search(
                session, Owner.of(principal), q, limit=limit + 1, after=after
            )
        items = [_hit(r) for r in rows[:limit]]
        next_cursor = (
            encode_cursor(rows[limit - 1].rank, rows[limit - 1].seq) if len(rows) > limit else None
        )
        return Page[SearchHit](items=items, next_cursor=next_cursor)

    async def search_for_tool(
        self, *, tenant_id: str, user_id: str, query: str, limit: int, exclude_run: str | None
    ) -> list[SearchHit]:
        """The search the ``search_conversations`` tool runs for the run's own user."""
        async with self._db.session() as session:
            rows = await self._repository.search(
                session, Owner(tenant_id, user_id), query, limit=limit, exclude_run=exclude_run
            )
        return [_hit(r) for r in rows]


def _hit(row: Row[Any]) -> SearchHit:
    return SearchHit(
        conversation_id=row.conversation_id,
        message_id=row.id,
        snippet=row.snippet,
        rank=float(row.rank),
        created_at=row.created_at,
    )
