"""RPC operations listing the agents and their tools."""

from __future__ import annotations

from agentbus_chat.agents.catalog import AgentCatalog
from agentbus_shared.bus import CallerPrincipal, RpcRouter
from agentbus_shared.contracts.chat import AgentView, Operation, ToolsQuery, ToolView
from agentbus_shared.contracts.common import Page, Scope
from agentbus_shared.errors import NotFound


class AgentNotFound(NotFound):
    code = "agent_not_found"
    default_message = "There is no agent of that name."


def register(router: RpcRouter, catalog: AgentCatalog) -> None:
    @router.operation(Operation.AGENTS_LIST)
    async def list_agents(principal: CallerPrincipal) -> Page[AgentView]:
        principal.require(Scope.CONVERSATIONS_READ)
        return Page[AgentView](items=catalog.agent_views())

    @router.operation(Operation.TOOLS_LIST)
    async def list_tools(query: ToolsQuery, principal: CallerPrincipal) -> Page[ToolView]:
        principal.require(Scope.CONVERSATIONS_READ)
        if query.agent is not None and catalog.get(query.agent) is None:
            raise AgentNotFound(details={"agent": query.agent})
        return Page[ToolView](items=catalog.tool_views(query.agent))
