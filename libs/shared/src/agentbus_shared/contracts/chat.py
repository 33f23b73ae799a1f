"""Contract of the chat service: RPC ``rpc.chat.v1.*``, frames on ``streams.chat.<id>``, usage events.

A streamed run: the gateway picks ``stream_id``, subscribes to
``streams.chat.<stream_id>``, then requests ``stream.start``. Chat publishes
:class:`StreamFrame` messages with increasing ``seq``: ``conversation`` first,
then ``agent``/``delta``/``tool_call``/``tool_result``/``handoff``, and
exactly one terminal ``final`` or ``error``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from agentbus_shared.contracts.common import Contract, Page, PageQuery, Scope
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable

SERVICE = "chat"

MAX_MESSAGE_CHARS = 32_000


class Usage(Contract):
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)


class ChatRequest(Contract):
    """Body of ``POST /chat`` and ``POST /chat/stream``."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    conversation_id: str | None = Field(None, max_length=64)
    agent: str | None = Field(
        None, max_length=64, description="start with this agent instead of triage"
    )


class ChatCall(ChatRequest):
    """Payload of the ``chat`` operation: the request, named by the gateway."""

    run_ref: str | None = Field(
        None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="names the run while it lasts: stream.status and stream.cancel take it "
        "as stream_id (the gateway asks whether the run still runs while it waits)",
    )


class ChatResult(Contract):
    conversation_id: str
    agent: str
    output: str
    usage: Usage


class StreamStart(ChatRequest):
    stream_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class StreamStarted(Contract):
    conversation_id: str
    stream_id: str


class StreamRef(Contract):
    stream_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


RunEnd = Literal["completed", "cancelled", "failed", "interrupted"]
"""How a run ended."""
RunStatus = Literal["running", RunEnd]
"""Where a run stands: ``running`` until it ends."""
MessageRole = Literal["user", "assistant", "tool"]
MessageStatus = Literal["complete", "partial", "error"]
"""``partial``: the reply of a run cancelled or interrupted; ``error``: a message a run refused."""


class StreamCancelled(Contract):
    """Answer of ``stream.cancel`` (202): ``cancelling`` while the run stops, else how it already ended."""

    stream_id: str
    status: Literal["cancelling", RunEnd]


class StreamStatus(Contract):
    """Answer of ``stream.status``: ``running`` while a replica runs it, else how it ended.

    A run whose replica died is found out here (nobody runs it): it is recorded as
    ``interrupted`` and its terminal frame will never come.
    """

    stream_id: str
    status: RunStatus


FrameEvent = Literal[
    "conversation", "agent", "delta", "tool_call", "tool_result", "handoff", "final", "error"
]
TERMINAL_EVENTS: frozenset[str] = frozenset({"final", "error"})


class StreamFrame(Contract):
    """One frame of a chat run, as published on ``streams.chat.<stream_id>``.

    ``data`` by event: conversation ``{conversation_id, stream_id}``, agent
    ``{name}``, delta ``{text}``, tool_call ``{call_id, name, arguments}``,
    tool_result ``{call_id, output}``, handoff ``{from, to}``, final
    ``{output, agent, usage}``, error ``{code, message}``.
    """

    seq: int = Field(ge=1)
    event: FrameEvent
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS


class AgentView(Contract):
    name: str
    description: str
    handoffs: list[str]
    tools: list[str]
    model: str | None = None
    feature: str | None = Field(
        None,
        description="the feature a tenant needs to pick this agent or be handed to it "
        "(contracts.features)",
    )


class ToolView(Contract):
    key: str
    description: str
    agents: list[str]
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="JSON schema of the arguments"
    )


class ToolsQuery(Contract):
    agent: str | None = Field(None, max_length=64)


class ConversationView(Contract):
    id: str
    title: str | None = None
    created_at: datetime
    updated_at: datetime
    last_agent: str | None = None


class ConversationRef(Contract):
    conversation_id: str = Field(min_length=1, max_length=64)


class TitleChange(Contract):
    """Body of ``PATCH /conversations/{conversation_id}``."""

    title: str = Field(min_length=1, max_length=200)


class ConversationUpdate(TitleChange):
    conversation_id: str = Field(min_length=1, max_length=64)


class SearchQuery(PageQuery):
    q: str = Field(min_length=1, max_length=256)


MATCH_START = "\ue000"
"""Opens a matched word in a search snippet (private use: no message contains it, it is removed)."""
MATCH_END = "\ue001"
"""Closes a matched word in a search snippet."""


class SearchHit(Contract):
    conversation_id: str
    message_id: str
    snippet: str = Field(
        description=(
            "Up to two fragments of the message around its matches, each matched word between "
            "U+E000 and U+E001 (private-use characters removed from the message first, so they "
            "never collide with its text or markdown)."
        )
    )
    rank: float
    created_at: datetime


class MessagesQuery(PageQuery):
    conversation_id: str = Field(min_length=1, max_length=64)


class MessageView(Contract):
    id: str
    role: MessageRole
    agent: str | None = None
    content: str
    created_at: datetime
    status: MessageStatus = "complete"


class Operation:
    PING = "ping"
    CHAT = "chat"
    STREAM_START = "stream.start"
    STREAM_CANCEL = "stream.cancel"
    STREAM_STATUS = "stream.status"
    AGENTS_LIST = "agents.list"
    TOOLS_LIST = "tools.list"
    CONVERSATIONS_LIST = "conversations.list"
    CONVERSATIONS_SEARCH = "conversations.search"
    CONVERSATIONS_GET = "conversations.get"
    CONVERSATIONS_MESSAGES = "conversations.messages"
    CONVERSATIONS_UPDATE = "conversations.update"
    CONVERSATIONS_DELETE = "conversations.delete"


# ------------------------------------------------------------------ events
class UsageRecorded(EventData):
    """One finished (or cancelled) run's usage. The event id is the run id: publishing twice is harmless."""

    service = SERVICE
    event_type = "usage.recorded"

    run_id: str
    tenant_id: str
    user_id: str
    conversation_id: str
    model: str
    agent: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    messages: int = Field(1, ge=0)
    recorded_at: datetime


class ConversationDeleted(EventData):
    service = SERVICE
    event_type = "conversation.deleted"

    tenant_id: str
    conversation_id: str
    deleted_by: str


# ------------------------------------------------------------------ routes
_routes = RouteTable(SERVICE, prefix="/api/v1", tags=("chat",))


ROUTES: tuple[Route, ...] = (
    _routes.post(
        "/chat",
        Operation.CHAT,
        "Send a message and wait for the whole reply",
        scopes=(Scope.CONVERSATIONS_WRITE,),
        body=ChatRequest,
        response=ChatResult,
        timeout=120.0,
        extra_errors=(402,),
        starts_chat_run=True,
    ),
    _routes.post(
        "/chat/streams/{stream_id}/cancel",
        Operation.STREAM_CANCEL,
        "Stop a streamed run",
        scopes=(Scope.CONVERSATIONS_WRITE,),
        response=StreamCancelled,
        status=202,
    ),
    _routes.get(
        "/agents",
        Operation.AGENTS_LIST,
        "The agents",
        scopes=(Scope.CONVERSATIONS_READ,),
        response=Page[AgentView],
    ),
    _routes.get(
        "/tools",
        Operation.TOOLS_LIST,
        "The tools, optionally for one agent",
        scopes=(Scope.CONVERSATIONS_READ,),
        query=ToolsQuery,
        response=Page[ToolView],
    ),
    _routes.get(
        "/conversations",
        Operation.CONVERSATIONS_LIST,
        "The caller's conversations, newest first",
        scopes=(Scope.CONVERSATIONS_READ,),
        query=PageQuery,
        response=Page[ConversationView],
    ),
    _routes.get(
        "/conversations/search",
        Operation.CONVERSATIONS_SEARCH,
        "Full-text search over the caller's messages",
        scopes=(Scope.CONVERSATIONS_READ,),
        query=SearchQuery,
        response=Page[SearchHit],
    ),
    _routes.get(
        "/conversations/{conversation_id}",
        Operation.CONVERSATIONS_GET,
        "One conversation",
        scopes=(Scope.CONVERSATIONS_READ,),
        response=ConversationView,
    ),
    _routes.get(
        "/conversations/{conversation_id}/messages",
        Operation.CONVERSATIONS_MESSAGES,
        "A conversation's messages in order",
        scopes=(Scope.CONVERSATIONS_READ,),
        query=PageQuery,
        response=Page[MessageView],
    ),
    _routes.patch(
        "/conversations/{conversation_id}",
        Operation.CONVERSATIONS_UPDATE,
        "Rename a conversation",
        scopes=(Scope.CONVERSATIONS_WRITE,),
        body=TitleChange,
        response=ConversationView,
    ),
    _routes.delete(
        "/conversations/{conversation_id}",
        Operation.CONVERSATIONS_DELETE,
        "Delete a conversation and its agent memory",
        scopes=(Scope.CONVERSATIONS_DELETE,),
        status=204,
    ),
)
"""``POST /chat/stream`` is the gateway's own SSE route over ``stream.start``."""
