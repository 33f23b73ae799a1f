"""Agent memory of a conversation: an Agents SDK ``Session`` over ``chat.agent_items``.

Our own session rather than the SDK's ``SQLAlchemySession``: every row carries
the tenant (the SDK tables have no tenant column), the history handed to the
model is trimmed to a token budget, and a trimmed or cancelled history is
made coherent before a model sees it (it starts at a user turn, and no tool
call is left without its output or the other way round — providers reject
both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.items import TResponseInputItem
from agents.memory.session import SessionABC
from pydantic_core import to_jsonable_python

from agentbus_chat.conversations.repository import ConversationRepository
from agentbus_chat.llm.tokens import item_tokens
from agentbus_shared.db import Database

_CALL_TYPES = ("function_call",)
_OUTPUT_TYPES = ("function_call_output",)


class ConversationMemory(SessionABC):
    """The memory of one conversation of one tenant, trimmed to ``token_budget`` when read."""

    def __init__(
        self,
        db: Database,
        repository: ConversationRepository,
        *,
        tenant_id: str,
        conversation_id: str,
        token_budget: int,
    ) -> None:
        self.session_id = conversation_id
        self.session_settings = None
        self._db = db
        self._repository = repository
        self._tenant_id = tenant_id
        self._budget = token_budget

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        async with self._db.session() as session:
            items = await self._repository.memory(
                session, self._tenant_id, self.session_id, token_budget=self._budget
            )
        history = coherent(items)
        if limit is not None and limit > 0:
            history = coherent(history[-limit:])
        return history

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        if not items:
            return
        rows = [(to_jsonable_python(item), item_tokens(item)) for item in items]
        async with self._db.transaction() as session:
            await self._repository.add_memory(session, self._tenant_id, self.session_id, rows)

    async def pop_item(self) -> TResponseInputItem | None:
        async with self._db.transaction() as session:
            item = await self._repository.pop_memory(session, self._tenant_id, self.session_id)
        return item  # type: ignore[no-any-return]

    async def clear_session(self) -> None:
        async with self._db.transaction() as session:
            await self._repository.clear_memory(session, self._tenant_id, self.session_id)


def coherent(items: list[Any]) -> list[Any]:
    """``items`` starting at a user message, without unmatched tool calls or tool outputs."""
    start = next((i for i, item in enumerate(items) if _is_user(item)), None)
    if start is not None:
        items = items[start:]
    calls = {_get(i, "call_id") for i in items if _get(i, "type") in _CALL_TYPES}
    outputs = {_get(i, "call_id") for i in items if _get(i, "type") in _OUTPUT_TYPES}
    answered = calls & outputs
    return [
        item
        for item in items
        if _get(item, "type") not in (*_CALL_TYPES, *_OUTPUT_TYPES)
        or _get(item, "call_id") in answered
    ]


def _is_user(item: Any) -> bool:
    return bool(_get(item, "role") == "user" and _get(item, "type", "message") == "message")


def _get(item: Any, key: str, default: Any = None) -> Any:
    return item.get(key, default) if isinstance(item, Mapping) else default
