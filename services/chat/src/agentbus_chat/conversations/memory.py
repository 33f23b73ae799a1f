"""Agent memory of a conversation: an Agents SDK ``Session`` over ``chat.agent_items``.

Our own session rather than the SDK's ``SQLAlchemySession``:

- every row carries the tenant (the SDK tables have no tenant column);
- the history handed to the model is trimmed to a token budget, and made
  coherent before a model sees it (it starts at a user turn; no tool call is
  left without its output or the other way round — providers reject both);
- one session serves one run: it reads the history once and keeps the run's
  new items in memory until :meth:`ConversationMemory.flush` writes them in
  the run's final transaction, together with the reply and the usage event.
  The SDK reads and appends the session many times per run (about 35 calls
  for a run with one handoff); buffered, that is one read and one insert.
  A run that never finishes (a crash) leaves no half-written turn behind.

One run at a time per conversation (the lease) is what makes a per-run
buffer safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.items import TResponseInputItem
from agents.memory.session import SessionABC
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_chat.conversations import repository
from agentbus_chat.llm.tokens import item_tokens
from agentbus_shared.db import Database

_CALL_TYPES = ("function_call",)
_OUTPUT_TYPES = ("function_call_output",)


class ConversationMemory(SessionABC):
    """The memory of one conversation of one tenant, for one run."""

    def __init__(
        self,
        db: Database,
        *,
        tenant_id: str,
        conversation_id: str,
        token_budget: int,
    ) -> None:
        self.session_id = conversation_id
        self.session_settings = None
        self._db = db
        self._tenant_id = tenant_id
        self._budget = token_budget
        self._history: list[Any] | None = None
        self._pending: list[Any] = []

    @property
    def pending(self) -> list[Any]:
        """Items this run added that are not written yet."""
        return list(self._pending)

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        if self._history is None:
            async with self._db.session() as session:
                self._history = await repository.memory(
                    session, self._tenant_id, self.session_id, token_budget=self._budget
                )
        items = coherent([*self._history, *self._pending])
        if limit is not None and limit > 0:
            items = coherent(items[-limit:])
        return items

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        self._pending.extend(to_jsonable_python(item) for item in items)

    async def pop_item(self) -> TResponseInputItem | None:
        if self._pending:
            return self._pending.pop()  # type: ignore[no-any-return]
        async with self._db.transaction() as session:
            item = await repository.pop_memory(session, self._tenant_id, self.session_id)
        if self._history:
            self._history.pop()
        return item  # type: ignore[no-any-return]

    async def clear_session(self) -> None:
        self._pending.clear()
        self._history = []
        async with self._db.transaction() as session:
            await repository.clear_memory(session, self._tenant_id, self.session_id)

    def append(self, item: Mapping[str, Any]) -> None:
        """Add an item of our own (the partial reply of a cancelled run)."""
        self._pending.append(dict(item))

    def discard(self) -> None:
        """Forget this run's items (a refused turn must not reach later prompts)."""
        self._pending.clear()

    async def flush(self, session: AsyncSession) -> int:
        """Write this run's items in the caller's transaction; returns how many."""
        if not self._pending:
            return 0
        rows = [(item, item_tokens(item)) for item in self._pending]
        await repository.add_memory(session, self._tenant_id, self.session_id, rows)
        written = len(self._pending)
        if self._history is not None:
            self._history.extend(self._pending)
        self._pending.clear()
        return written


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
