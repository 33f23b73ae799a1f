"""The SDK agents built once from the catalog; runs never change them.

Each agent gets exactly the function tools its catalog entry allows and a
``handoff(...)`` per specialist it may pass the conversation to; a handoff to a
specialist that needs a feature is offered only in runs of tenants that have it.
Tenant, user and features reach the tools and handoffs through the run context,
so the same agent objects serve every tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import Agent, Handoff, RunContextWrapper, handoff

from agentbus_chat.agents.catalog import AgentCatalog, AgentSpec
from agentbus_chat.agents.context import ChatContext
from agentbus_shared.contracts.features import Feature

HandoffCheck = Callable[[RunContextWrapper[ChatContext], Agent[ChatContext]], bool]


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
        team[spec.name].handoffs = [
            _handoff_to(team[target], catalog.agents[target]) for target in spec.handoffs
        ]
    return team


def _handoff_to(agent: Agent[ChatContext], spec: AgentSpec) -> Handoff[ChatContext, Any]:
    """A handoff to ``agent``, offered only where the tenant has the feature its spec needs."""
    if spec.feature is None:
        return handoff(agent)
    return handoff(agent, is_enabled=_with(spec.feature))


def _with(feature: Feature) -> HandoffCheck:
    def enabled(run: RunContextWrapper[ChatContext], _agent: Agent[ChatContext]) -> bool:
        return run.context.features.includes(feature)

    return enabled
