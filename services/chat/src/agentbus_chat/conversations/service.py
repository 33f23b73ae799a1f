"""Rules of conversations: who may read, rename, delete and search what; pages and cursors."""

from __future__ import annotations

from datetime import UTC, datetime

from agentbus_chat.conversations import repository
from agentbus_chat.conversations.repository import Conversation, Owner, SearchMatch
from agentbus_chat.errors import ConversationBusy, ConversationNotFound
from agentbus_chat.models import outbox
from agentbus_shared.contracts.chat import (
    ConversationDeleted,
    ConversationView,
    MessageView,
    SearchHit,
)
from agentbus_shared.contracts.common import Page, Principal
from agentbus_shared.contracts.events import make_event
from agentbus_shared.db import Database
from agentbus_shared.pagination import cut_page, decode_cursor

TITLE_CHARS = 80


def title_from(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        title=conversation.title,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        last_agent=conversation.last_agent,
    )


class ConversationService:
    """The caller's own conversations: list, read, rename, delete, search."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_recent(
        self, principal: Principal, *, limit: int, cursor: str | None
    ) -> Page[ConversationView]:
        after = decode_cursor(cursor, datetime, str) if cursor else None
        async with self._db.session() as session:
            rows = await repository.page(session, Owner.of(principal), limit=limit + 1, after=after)
        kept, next_cursor = cut_page(rows, limit, lambda r: (r.updated_at, r.id))
        return Page[ConversationView](
            items=[conversation_view(r) for r in kept], next_cursor=next_cursor
        )

    async def get(self, principal: Principal, conversation_id: str) -> ConversationView:
        async with self._db.session() as session:
            row = await repository.by_id(session, Owner.of(principal), conversation_id)
        if row is None:
            raise ConversationNotFound()
        return conversation_view(row)

    async def messages(
        self, principal: Principal, conversation_id: str, *, limit: int, cursor: str | None
    ) -> Page[MessageView]:
        owner = Owner.of(principal)
        (after_seq,) = decode_cursor(cursor, int) if cursor else (None,)
        async with self._db.session() as session:
            if await repository.by_id(session, owner, conversation_id) is None:
                raise ConversationNotFound()
            rows = await repository.messages_page(
                session, owner, conversation_id, limit=limit + 1, after_seq=after_seq
            )
        kept, next_cursor = cut_page(rows, limit, lambda r: (r.seq,))
        items = [
            MessageView(
                id=r.id,
                role=r.role,
                agent=r.agent,
                content=r.content,
                created_at=r.created_at,
                status=r.status,
            )
            for r in kept
        ]
        return Page[MessageView](items=items, next_cursor=next_cursor)

    async def rename(
        self, principal: Principal, conversation_id: str, title: str
    ) -> ConversationView:
        async with self._db.transaction() as session:
            row = await repository.rename(
                session, Owner.of(principal), conversation_id, title.strip() or title
            )
        if row is None:
            raise ConversationNotFound()
        return conversation_view(row)

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """Gone from lists, search and agent memory; refused while a run writes into it."""
        owner = Owner.of(principal)
        async with self._db.transaction() as session:
            conversation = await repository.by_id(session, owner, conversation_id)
            if conversation is None:
                raise ConversationNotFound()
            if conversation.leased_at(datetime.now(UTC)):
                raise ConversationBusy("Cancel the running reply before deleting the conversation.")
            await repository.soft_delete(session, owner, conversation_id)
            await outbox.emit(
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
        after = decode_cursor(cursor, float, int) if cursor else None
        async with self._db.session() as session:
            rows = await repository.search(
                session, Owner.of(principal), q, limit=limit + 1, after=after
            )
        kept, next_cursor = cut_page(rows, limit, lambda r: (r.rank, r.seq))
        return Page[SearchHit](items=[_hit(r) for r in kept], next_cursor=next_cursor)

    async def search_for_tool(
        self, *, tenant_id: str, user_id: str, query: str, limit: int, exclude_run: str | None
    ) -> list[SearchHit]:
        """The search the ``search_conversations`` tool runs for the run's own user."""
        async with self._db.session() as session:
            rows = await repository.search(
                session, Owner(tenant_id, user_id), query, limit=limit, exclude_run=exclude_run
            )
        return [_hit(r) for r in rows]


def _hit(match: SearchMatch) -> SearchHit:
    return SearchHit(
        conversation_id=match.conversation_id,
        message_id=match.message_id,
        snippet=match.snippet,
        rank=match.rank,
        created_at=match.created_at,
    )
