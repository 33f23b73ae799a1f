"""RPC operations listing the agents and their tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_chat.errors import AgentNotFound
from agentbus_shared.contracts.chat import AgentView, Operation, ToolsQuery, ToolView
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_chat.app import ChatParts


def register(runtime: ServiceRuntime, parts: ChatParts) -> None:
    ops, catalog = runtime.rpc_router, parts.catalog

    @ops.operation(Operation.AGENTS_LIST, scopes={Scope.CONVERSATIONS_READ})
    async def list_agents() -> Page[AgentView]:
        return Page[AgentView](items=catalog.agent_views())

    @ops.operation(Operation.TOOLS_LIST, scopes={Scope.CONVERSATIONS_READ})
    async def list_tools(query: ToolsQuery) -> Page[ToolView]:
        if query.agent is not None and catalog.get(query.agent) is None:
            raise AgentNotFound(details={"agent": query.agent})
        return Page[ToolView](items=catalog.tool_views(query.agent))
