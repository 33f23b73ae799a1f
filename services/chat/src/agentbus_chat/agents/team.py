"""The SDK agents built once from the catalog; runs never change them.

Each agent gets exactly the function tools its catalog entry allows and a
``handoff(...)`` per specialist it may pass the conversation to. Tenant and
user reach the tools through the run context, so the same agent objects
serve every tenant.
"""

from __future__ import annotations

from agents import Agent, handoff

from agentbus_chat.agents.catalog import AgentCatalog
from agentbus_chat.agents.context import ChatContext


def build_team(catalog: AgentCatalog, *, default_model: str) -> dict[str, Agent[ChatContext]]:
    team: dict[str, Agent[ChatContext]] = {}
    for spec in catalog.agents.values():
        team[spec.name] = Agent[ChatContext](
            name=spec.name,
            instructions=spec.instructions,
            handoff_description=spec.description,
            tools=[tool.function_tool() for tool in catalog.tools_of(spec.name)],
            model=spec.model or default_model,
        )
    for spec in catalog.agents.values():
        team[spec.name].handoffs = [handoff(team[target]) for target in spec.handoffs]
    return team
