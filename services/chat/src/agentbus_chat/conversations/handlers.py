"""RPC operations of conversations: decode, call the service, encode."""

from __future__ import annotations

from agentbus_chat.conversations.service import ConversationService
from agentbus_shared.bus import CallerPrincipal, Reply, RpcRouter
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
from agentbus_shared.contracts.common import Page, PageQuery


def register(router: RpcRouter, service: ConversationService) -> None:
    @router.operation(Operation.CONVERSATIONS_LIST)
    async def list_conversations(
        query: PageQuery, principal: CallerPrincipal
    ) -> Page[ConversationView]:
        return await service.list_recent(principal, limit=query.limit, cursor=query.cursor)

    @router.operation(Operation.CONVERSATIONS_SEARCH)
    async def search(query: SearchQuery, principal: CallerPrincipal) -> Page[SearchHit]:
        return await service.search(principal, query.q, limit=query.limit, cursor=query.cursor)

    @router.operation(Operation.CONVERSATIONS_GET)
    async def get(ref: ConversationRef, principal: CallerPrincipal) -> ConversationView:
        return await service.get(principal, ref.conversation_id)

    @router.operation(Operation.CONVERSATIONS_MESSAGES)
    async def messages(query: MessagesQuery, principal: CallerPrincipal) -> Page[MessageView]:
        return await service.messages(
            principal, query.conversation_id, limit=query.limit, cursor=query.cursor
        )

    @router.operation(Operation.CONVERSATIONS_UPDATE)
    async def rename(cmd: ConversationUpdate, principal: CallerPrincipal) -> ConversationView:
        return await service.rename(principal, cmd.conversation_id, cmd.title)

    @router.operation(Operation.CONVERSATIONS_DELETE)
    async def delete(ref: ConversationRef, principal: CallerPrincipal) -> Reply[None]:
        await service.delete(principal, ref.conversation_id)
        return Reply(None, status=204)
