"""All SQL of conversations, messages, search and agent memory. Every call takes the owner.

A row is visible only to the tenant and user that own it: the owner is a
parameter of every query here, not a filter callers must remember.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_chat.models import SEARCH_CONFIG, agent_items, conversations, messages
from agentbus_shared.contracts.chat import MATCH_END, MATCH_START, MessageRole, MessageStatus
from agentbus_shared.contracts.common import Principal
from agentbus_shared.ids import new_id
from agentbus_shared.pagination import past_key

SNIPPET_OPTIONS = (
    f'MaxFragments=2, MaxWords=24, MinWords=6, StartSel="{MATCH_START}", StopSel="{MATCH_END}"'
)
SEARCHABLE_ROLES: tuple[MessageRole, ...] = ("user", "assistant")


@dataclass(frozen=True)
class Owner:
    """Whose rows a query may see: one user of one tenant."""

    tenant_id: str
    user_id: str

    @classmethod
    def of(cls, principal: Principal) -> Owner:
        return cls(tenant_id=principal.tenant_id, user_id=principal.subject)


@dataclass(frozen=True)
class Conversation:
    """One conversation, with the lease of the run writing into it (if any)."""

    id: str
    title: str | None
    last_agent: str | None
    created_at: datetime
    updated_at: datetime
    active_run_id: str | None
    lease_expires_at: datetime | None

    def leased_at(self, now: datetime) -> bool:
        """Whether a run holds the conversation at ``now``."""
        lease = self.lease_expires_at
        return self.active_run_id is not None and lease is not None and lease > now


@dataclass(frozen=True)
class Message:
    """One message of a conversation; ``seq`` orders them."""

    id: str
    seq: int
    role: MessageRole
    agent: str | None
    content: str
    status: MessageStatus
    created_at: datetime


@dataclass(frozen=True)
class SearchMatch:
    """One message matching a search, with its highlighted snippet; ``(rank, seq)`` orders them."""

    message_id: str
    seq: int
    conversation_id: str
    created_at: datetime
    rank: float
    snippet: str


def _owned(table: Table, owner: Owner) -> ColumnElement[bool]:
    return and_(table.c.tenant_id == owner.tenant_id, table.c.user_id == owner.user_id)


_CONVERSATION = [conversations.c[name] for name in Conversation.__dataclass_fields__]


def _visible(owner: Owner, conversation_id: str) -> ColumnElement[bool]:
    """The owner's conversation ``conversation_id``, unless deleted."""
    return and_(
        conversations.c.id == conversation_id,
        _owned(conversations, owner),
        conversations.c.deleted_at.is_(None),
    )


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(**row._mapping)


async def create(
    session: AsyncSession,
    owner: Owner,
    *,
    title: str | None,
    run_id: str | None = None,
    lease_seconds: float = 0,
) -> str:
    """A new conversation (its id); with ``run_id``, already leased to that run."""
    values: dict[str, Any] = {
        "id": new_id("conv"),
        "tenant_id": owner.tenant_id,
        "user_id": owner.user_id,
        "title": title,
    }
    if run_id is not None:
        values["active_run_id"] = run_id
        values["lease_expires_at"] = func.now() + _seconds(lease_seconds)
    await session.execute(insert(conversations).values(**values))
    return str(values["id"])


async def by_id(session: AsyncSession, owner: Owner, conversation_id: str) -> Conversation | None:
    row = (
        await session.execute(select(*_CONVERSATION).where(_visible(owner, conversation_id)))
    ).one_or_none()
    return _conversation(row) if row is not None else None


async def page(
    session: AsyncSession,
    owner: Owner,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Conversation]:
    """Newest first, keyset-paginated by ``(updated_at, id)``."""
    query = select(*_CONVERSATION).where(
        _owned(conversations, owner), conversations.c.deleted_at.is_(None)
    )
    if after is not None:
        query = query.where(
            past_key((conversations.c.updated_at, conversations.c.id), after, descending=True)
        )
    query = query.order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
    return [_conversation(row) for row in await session.execute(query.limit(limit))]


async def rename(
    session: AsyncSession, owner: Owner, conversation_id: str, title: str
) -> Conversation | None:
    row = (
        await session.execute(
            update(conversations)
            .where(_visible(owner, conversation_id))
            .values(title=title, updated_at=func.now())
            .returning(*_CONVERSATION)
        )
    ).one_or_none()
    return _conversation(row) if row is not None else None


async def soft_delete(session: AsyncSession, owner: Owner, conversation_id: str) -> bool:
    """Hide the conversation from lists and search, and forget its agent memory."""
    deleted = (
        await session.execute(
            update(conversations)
            .where(_visible(owner, conversation_id))
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


async def claim_lease(
    session: AsyncSession, owner: Owner, conversation_id: str, run_id: str, seconds: float
) -> bool:
    """Take the conversation for ``run_id`` unless another live run holds it."""
    claimed = (
        await session.execute(
            update(conversations)
            .where(
                _visible(owner, conversation_id),
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


async def release_lease(
    session: AsyncSession, tenant_id: str, conversation_id: str, run_id: str
) -> None:
    await session.execute(
        update(conversations)
        .where(
            conversations.c.id == conversation_id,
            conversations.c.tenant_id == tenant_id,
            conversations.c.active_run_id == run_id,
        )
        .values(active_run_id=None, lease_expires_at=None)
    )


async def renew_leases(session: AsyncSession, run_ids: Sequence[str], seconds: float) -> int:
    if not run_ids:
        return 0
    result = await session.execute(
        update(conversations)
        .where(conversations.c.active_run_id.in_(list(run_ids)))
        .values(lease_expires_at=func.now() + _seconds(seconds))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def add_message(
    session: AsyncSession,
    owner: Owner,
    conversation_id: str,
    *,
    role: MessageRole,
    content: str,
    agent: str | None = None,
    status: MessageStatus = "complete",
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
    session: AsyncSession, owner: Owner, message_id: str, status: MessageStatus
) -> None:
    await session.execute(
        update(messages)
        .where(messages.c.id == message_id, _owned(messages, owner))
        .values(status=status)
    )


async def messages_page(
    session: AsyncSession,
    owner: Owner,
    conversation_id: str,
    *,
    limit: int,
    after_seq: int | None,
) -> list[Message]:
    query = select(*(messages.c[name] for name in Message.__dataclass_fields__)).where(
        messages.c.conversation_id == conversation_id, _owned(messages, owner)
    )
    if after_seq is not None:
        query = query.where(messages.c.seq > after_seq)
    rows = await session.execute(query.order_by(messages.c.seq).limit(limit))
    return [Message(**row._mapping) for row in rows]


async def search(
    session: AsyncSession,
    owner: Owner,
    query_text: str,
    *,
    limit: int,
    after: tuple[float, int] | None = None,
    exclude_run: str | None = None,
) -> list[SearchMatch]:
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
        matches = matches.where(or_(messages.c.run_id.is_(None), messages.c.run_id != exclude_run))
    ranked = matches.cte("ranked")
    page = select(ranked)
    if after is not None:
        page = page.where(past_key((ranked.c.rank, ranked.c.seq), after, descending=True))
    page_cte = page.order_by(ranked.c.rank.desc(), ranked.c.seq.desc()).limit(limit).cte("page")
    snippet = func.ts_headline(
        literal_column(f"'{SEARCH_CONFIG}'"),
        func.translate(page_cte.c.content, MATCH_START + MATCH_END, ""),
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
    return [
        SearchMatch(
            message_id=row.id,
            seq=row.seq,
            conversation_id=row.conversation_id,
            created_at=row.created_at,
            rank=float(row.rank),
            snippet=row.snippet,
        )
        for row in await session.execute(final)
    ]


async def memory(
    session: AsyncSession, tenant_id: str, conversation_id: str, *, token_budget: int
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


async def pop_memory(session: AsyncSession, tenant_id: str, conversation_id: str) -> Any:
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


async def clear_memory(session: AsyncSession, tenant_id: str, conversation_id: str) -> None:
    await session.execute(
        delete(agent_items).where(
            agent_items.c.tenant_id == tenant_id,
            agent_items.c.conversation_id == conversation_id,
        )
    )


def _seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
