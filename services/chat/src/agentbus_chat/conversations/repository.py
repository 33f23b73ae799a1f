"""All SQL of conversations, messages, search and agent memory. Every call takes the owner.

A row is visible only to the tenant and user that own it: the owner is a
parameter of every query here, not a filter callers must remember.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_chat.models import SEARCH_CONFIG, agent_items, conversations, messages
from agentbus_shared.contracts.common import Principal
from agentbus_shared.ids import new_id

AnyRow = Row[*tuple[Any, ...]]
SNIPPET_OPTIONS = "MaxFragments=2, MaxWords=24, MinWords=6, StartSel=**, StopSel=**"
SEARCHABLE_ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Owner:
    """Whose rows a query may see: one user of one tenant."""

    tenant_id: str
    user_id: str

    @classmethod
    def of(cls, principal: Principal) -> Owner:
        return cls(tenant_id=principal.tenant_id, user_id=principal.subject)


def _owned(table: Any, owner: Owner) -> Any:
    return and_(table.c.tenant_id == owner.tenant_id, table.c.user_id == owner.user_id)


class ConversationRepository:
    # ------------------------------------------------------------ conversations
    async def create(
        self,
        session: AsyncSession,
        owner: Owner,
        *,
        title: str | None,
        run_id: str | None = None,
        lease_seconds: float = 0,
    ) -> AnyRow:
        """A new conversation; with ``run_id``, already leased to that run."""
        values: dict[str, Any] = {
            "id": new_id("conv"),
            "tenant_id": owner.tenant_id,
            "user_id": owner.user_id,
            "title": title,
        }
        if run_id is not None:
            values["active_run_id"] = run_id
            values["lease_expires_at"] = func.now() + _seconds(lease_seconds)
        return (
            await session.execute(
                insert(conversations).values(**values).returning(*conversations.c)
            )
        ).one()

    async def get(self, session: AsyncSession, owner: Owner, conversation_id: str) -> AnyRow | None:
        return (
            await session.execute(
                select(conversations).where(
                    conversations.c.id == conversation_id,
                    _owned(conversations, owner),
                    conversations.c.deleted_at.is_(None),
                )
            )
        ).one_or_none()

    async def page(
        self,
        session: AsyncSession,
        owner: Owner,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[AnyRow]:
        """Newest first, keyset-paginated by ``(updated_at, id)``."""
        query = select(conversations).where(
            _owned(conversations, owner), conversations.c.deleted_at.is_(None)
        )
        if after is not None:
            updated_at, last_id = after
            query = query.where(
                or_(
                    conversations.c.updated_at < updated_at,
                    and_(conversations.c.updated_at == updated_at, conversations.c.id < last_id),
                )
            )
        query = query.order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
        return (await session.execute(query.limit(limit))).all()

    async def rename(
        self, session: AsyncSession, owner: Owner, conversation_id: str, title: str
    ) -> AnyRow | None:
        return (
            await session.execute(
                update(conversations)
                .where(
                    conversations.c.id == conversation_id,
                    _owned(conversations, owner),
                    conversations.c.deleted_at.is_(None),
                )
                .values(title=title, updated_at=func.now())
                .returning(*conversations.c)
            )
        ).one_or_none()

    async def soft_delete(self, session: AsyncSession, owner: Owner, conversation_id: str) -> bool:
        """Hide the conversation from lists and search, and forget its agent memory."""
        deleted = (
            await session.execute(
                update(conversations)
                .where(
                    conversations.c.id == conversation_id,
                    _owned(conversations, owner),
                    conversations.c.deleted_at.is_(None),
                )
                .values(deleted_at=func.now())
                .returning(conversations.c.id)
            )
        ).one_or_none()
        if deleted is None:
            return False
        await session.execute(
            delete(agent_items).where(
                agent_items.c.conversation_id == conversation_id,
                agent_items.c.tenant_id == owner.tenant_id,
            )
        )
        return True

    async def end_run(
        self,
        session: AsyncSession,
        owner: Owner,
        conversation_id: str,
        run_id: str,
        *,
        last_agent: str | None,
    ) -> None:
        """Record the run's last agent and give up its lease (if it still holds it)."""
        holds = conversations.c.active_run_id == run_id
        values: dict[str, Any] = {
            "updated_at": func.now(),
            "active_run_id": case((holds, None), else_=conversations.c.active_run_id),
            "lease_expires_at": case((holds, None), else_=conversations.c.lease_expires_at),
        }
        if last_agent:
            values["last_agent"] = last_agent
        await session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, _owned(conversations, owner))
            .values(**values)
        )

    # ------------------------------------------------------------ run leases
    async def claim_lease(
        self, session: AsyncSession, owner: Owner, conversation_id: str, run_id: str, seconds: float
    ) -> bool:
        """Take the conversation for ``run_id`` unless another live run holds it."""
        claimed = (
            await session.execute(
                update(conversations)
                .where(
                    conversations.c.id == conversation_id,
                    _owned(conversations, owner),
                    conversations.c.deleted_at.is_(None),
                    or_(
                        conversations.c.active_run_id.is_(None),
                        conversations.c.lease_expires_at < func.now(),
                    ),
                )
                .values(
                    active_run_id=run_id,
                    lease_expires_at=func.now() + _seconds(seconds),
                    updated_at=func.now(),
                )
                .returning(conversations.c.id)
            )
        ).one_or_none()
        return claimed is not None

    async def release_lease(self, session: AsyncSession, conversation_id: str, run_id: str) -> None:
        await session.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.active_run_id == run_id)
            .values(active_run_id=None, lease_expires_at=None)
        )

    async def renew_leases(
        self, session: AsyncSession, run_ids: Sequence[str], seconds: float
    ) -> int:
        if not run_ids:
            return 0
        result = await session.execute(
            update(conversations)
            .where(conversations.c.active_run_id.in_(list(run_ids)))
            .values(lease_expires_at=func.now() + _seconds(seconds))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------ messages
    async def add_message(
        self,
        session: AsyncSession,
        owner: Owner,
        conversation_id: str,
        *,
        role: str,
        content: str,
        agent: str | None = None,
        status: str = "complete",
        run_id: str | None = None,
    ) -> str:
        message_id = new_id("msg")
        await session.execute(
            insert(messages).values(
                id=message_id,
                conversation_id=conversation_id,
                tenant_id=owner.tenant_id,
                user_id=owner.user_id,
                run_id=run_id,
                role=role,
                agent=agent,
                content=content,
                status=status,
            )
        )
        return message_id

    async def set_message_status(
        self, session: AsyncSession, owner: Owner, message_id: str, status: str
    ) -> None:
        await session.execute(
            update(messages)
            .where(messages.c.id == message_id, _owned(messages, owner))
            .values(status=status)
        )

    async def messages_page(
        self,
        session: AsyncSession,
        owner: Owner,
        conversation_id: str,
        *,
        limit: int,
        after_seq: int | None,
    ) -> Sequence[AnyRow]:
        query = select(messages).where(
            messages.c.conversation_id == conversation_id, _owned(messages, owner)
        )
        if after_seq is not None:
            query = query.where(messages.c.seq > after_seq)
        return (await session.execute(query.order_by(messages.c.seq).limit(limit))).all()

    async def search(
        self,
        session: AsyncSession,
        owner: Owner,
        query_text: str,
        *,
        limit: int,
        after: tuple[float, int] | None = None,
        exclude_run: str | None = None,
    ) -> Sequence[AnyRow]:
        """The owner's messages matching ``query_text``, best first, with highlighted snippets."""
        query = func.websearch_to_tsquery(literal_column(f"'{SEARCH_CONFIG}'"), query_text)
        rank = func.ts_rank_cd(messages.c.search_vector, query).label("rank")
        matches = (
            select(
                messages.c.id,
                messages.c.seq,
                messages.c.conversation_id,
                messages.c.content,
                messages.c.created_at,
                rank,
            )
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                _owned(messages, owner),
                conversations.c.deleted_at.is_(None),
                messages.c.role.in_(SEARCHABLE_ROLES),
                messages.c.search_vector.op("@@")(query),
            )
        )
        if exclude_run is not None:
            matches = matches.where(
                or_(messages.c.run_id.is_(None), messages.c.run_id != exclude_run)
            )
        ranked = matches.cte("ranked")
        page = select(ranked)
        if after is not None:
            last_rank, last_seq = after
            page = page.where(
                or_(
                    ranked.c.rank < last_rank,
                    and_(ranked.c.rank == last_rank, ranked.c.seq < last_seq),
                )
            )
        page_cte = page.order_by(ranked.c.rank.desc(), ranked.c.seq.desc()).limit(limit).cte("page")
        snippet = func.ts_headline(
            literal_column(f"'{SEARCH_CONFIG}'"),
            page_cte.c.content,
            func.websearch_to_tsquery(literal_column(f"'{SEARCH_CONFIG}'"), query_text),
            SNIPPET_OPTIONS,
        ).label("snippet")
        final = select(
            page_cte.c.id,
            page_cte.c.seq,
            page_cte.c.conversation_id,
            page_cte.c.created_at,
            page_cte.c.rank,
            snippet,
        ).order_by(page_cte.c.rank.desc(), page_cte.c.seq.desc())
        return (await session.execute(final)).all()

    # ------------------------------------------------------------ agent memory
    async def memory(
        self, session: AsyncSession, tenant_id: str, conversation_id: str, *, token_budget: int
    ) -> list[Any]:
        """The newest items whose tokens fit ``token_budget`` (at least the newest), oldest first."""
        running = (
            func.sum(agent_items.c.tokens).over(order_by=agent_items.c.seq.desc()).label("running")
        )
        newest = (
            select(agent_items.c.seq, agent_items.c.item, agent_items.c.tokens, running)
            .where(
                agent_items.c.tenant_id == tenant_id,
                agent_items.c.conversation_id == conversation_id,
            )
            .subquery()
        )
        rows = (
            await session.execute(
                select(newest.c.item)
                .where(or_(newest.c.running <= token_budget, newest.c.running == newest.c.tokens))
                .order_by(newest.c.seq)
            )
        ).all()
        return [row.item for row in rows]

    async def add_memory(
        self,
        session: AsyncSession,
        tenant_id: str,
        conversation_id: str,
        items: Sequence[tuple[Any, int]],
    ) -> None:
        await session.execute(
            insert(agent_items),
            [
                {
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "item": item,
                    "tokens": tokens,
                }
                for item, tokens in items
            ],
        )

    async def pop_memory(self, session: AsyncSession, tenant_id: str, conversation_id: str) -> Any:
        newest = (
            select(agent_items.c.seq)
            .where(
                agent_items.c.tenant_id == tenant_id,
                agent_items.c.conversation_id == conversation_id,
            )
            .order_by(agent_items.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                delete(agent_items).where(agent_items.c.seq == newest).returning(agent_items.c.item)
            )
        ).one_or_none()
        return row.item if row is not None else None

    async def clear_memory(
        self, session: AsyncSession, tenant_id: str, conversation_id: str
    ) -> None:
        await session.execute(
            delete(agent_items).where(
                agent_items.c.tenant_id == tenant_id,
                agent_items.c.conversation_id == conversation_id,
            )
        )


def _seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
