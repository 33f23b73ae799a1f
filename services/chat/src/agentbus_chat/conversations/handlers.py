"""RPC operations of conversations: decode, call the service, encode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Reply
from agentbus_shared.contracts.chat import (
    ConversationRef,
    ConversationUpdate,
    ConversationView,
    MessagesQuery,
    MessageView,
    Operation,
    SearchHit,
    SearchQuery,
)
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_chat.app import ChatParts

READ = {Scope.CONVERSATIONS_READ}


def register(runtime: ServiceRuntime, parts: ChatParts) -> None:
    ops, service = runtime.rpc_router, parts.conversations

    @ops.operation(Operation.CONVERSATIONS_LIST, scopes=READ)
    async def list_conversations(
        query: PageQuery, principal: CallerPrincipal
    ) -> Page[ConversationView]:
        return await service.list_recent(principal, limit=query.limit, cursor=query.cursor)

    @ops.operation(Operation.CONVERSATIONS_SEARCH, scopes=READ)
    async def search(query: SearchQuery, principal: CallerPrincipal) -> Page[SearchHit]:
        return await service.search(principal, query.q, limit=query.limit, cursor=query.cursor)

    @ops.operation(Operation.CONVERSATIONS_GET, scopes=READ)
    async def get(ref: ConversationRef, principal: CallerPrincipal) -> ConversationView:
        return await service.get(principal, ref.conversation_id)

    @ops.operation(Operation.CONVERSATIONS_MESSAGES, scopes=READ)
    async def messages(query: MessagesQuery, principal: CallerPrincipal) -> Page[MessageView]:
        return await service.messages(
            principal, query.conversation_id, limit=query.limit, cursor=query.cursor
        )

    @ops.operation(Operation.CONVERSATIONS_UPDATE, scopes={Scope.CONVERSATIONS_WRITE})
    async def rename(cmd: ConversationUpdate, principal: CallerPrincipal) -> ConversationView:
        return await service.rename(principal, cmd.conversation_id, cmd.title)

    @ops.operation(Operation.CONVERSATIONS_DELETE, scopes={Scope.CONVERSATIONS_DELETE})
    async def delete(ref: ConversationRef, principal: CallerPrincipal) -> Reply[None]:
        await service.delete(principal, ref.conversation_id)
        return Reply(None, status=204)
