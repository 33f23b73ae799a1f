"""The agents, declared as data: name, instructions, model, handoffs, tool keys, routing words.

:data:`DEFAULT_AGENTS` is the team the product ships: a triage agent that hands
off to a support, a billing and a research agent. :class:`AgentCatalog` checks
a team once (every handoff and tool exists, every tool admits the agent) and
answers what ``/agents`` and ``/tools`` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentbus_chat.agents.tools import ToolSpec
from agentbus_shared.contracts.chat import AgentView, ToolView
from agentbus_shared.contracts.features import Feature

TRIAGE = "triage"


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    instructions: str
    handoffs: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    model: str | None = None
    """Model name for this agent; ``None`` uses the service's configured model."""
    intents: tuple[str, ...] = ()
    """Word stems that route a request to this agent (the builtin model routes by them)."""
    feature: Feature | None = None
    """The feature a tenant needs to pick this agent or to be handed to it by another."""


DEFAULT_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        name=TRIAGE,
        description="Greets the user and hands the conversation to the right specialist.",
        instructions=(
            "You are the triage agent of Agentbus. Work out what the user needs. Hand "
            "billing, plan and usage questions to the billing agent, product problems and "
            "how-to questions to the support agent, and research, analysis or arithmetic to "
            "the research agent. Answer greetings and small talk yourself, briefly."
        ),
        handoffs=("support", "billing", "research"),
        tools=("current_time",),
    ),
    AgentSpec(
        name="support",
        description="Solves product problems and answers how-to questions.",
        instructions=(
            "You are the support agent of Agentbus. Help the user solve product problems "
            "step by step. Search the user's earlier conversations when they refer to them. "
            "Be concise and concrete."
        ),
        tools=("current_time", "search_conversations"),
        intents=(
            "help",
            "support",
            "problem",
            "error",
            "bug",
            "broken",
            "crash",
            "login",
            "log in",
            "password",
            "account",
            "setting",
            "how do i",
            "how can i",
            "not working",
            "doesn't work",
            "fail",
            "issue",
        ),
    ),
    AgentSpec(
        name="billing",
        description="Explains the plan, subscription, invoices and usage of the tenant.",
        instructions=(
            "You are the billing agent of Agentbus. Answer questions about the tenant's plan, "
            "subscription, invoices, usage and limits. Always look the facts up with the "
            "billing summary tool; never guess amounts."
        ),
        tools=("billing_summary", "current_time"),
        intents=(
            "bill",
            "invoice",
            "plan",
            "subscription",
            "subscribe",
            "payment",
            "pay",
            "charge",
            "price",
            "pricing",
            "cost",
            "quota",
            "usage",
            "limit",
            "refund",
            "upgrade",
            "downgrade",
            "credit card",
        ),
    ),
    AgentSpec(
        name="research",
        description="Researches, analyses and calculates, citing the user's earlier conversations.",
        instructions=(
            "You are the research agent of Agentbus. Analyse questions carefully, use the "
            "calculator for any arithmetic, and search the user's earlier conversations for "
            "context. Show your result clearly."
        ),
        tools=("calculator", "search_conversations", "current_time"),
        intents=(
            "research",
            "analy",
            "calculat",
            "compute",
            "math",
            "sum of",
            "average",
            "percent",
            "compare",
            "statistic",
            "estimate",
            "how much is",
            "how many",
        ),
        feature=Feature.RESEARCH_AGENT,
    ),
)


class CatalogError(ValueError):
    """The team is inconsistent: a missing agent or tool, or a tool the agent may not use."""


class AgentCatalog:
    """A checked team of agents and the tools each may use."""

    def __init__(self, agents: Iterable[AgentSpec], tools: Iterable[ToolSpec]) -> None:
        self.agents: dict[str, AgentSpec] = {a.name: a for a in agents}
        self.tools: dict[str, ToolSpec] = {t.key: t for t in tools}
        if TRIAGE not in self.agents:
            raise CatalogError("the team needs a triage agent")
        for agent in self.agents.values():
            for target in agent.handoffs:
                if target not in self.agents:
                    raise CatalogError(f"{agent.name} hands off to unknown agent {target}")
            for key in agent.tools:
                tool = self.tools.get(key)
                if tool is None:
                    raise CatalogError(f"{agent.name} lists unknown tool {key}")
                if not tool.allows(agent.name):
                    raise CatalogError(f"tool {key} does not admit agent {agent.name}")

    def get(self, name: str) -> AgentSpec | None:
        return self.agents.get(name)

    def tools_of(self, name: str) -> list[ToolSpec]:
        """The tools ``name`` may use: those it lists that also admit it."""
        agent = self.agents[name]
        return [self.tools[k] for k in agent.tools if self.tools[k].allows(name)]

    def agent_views(self) -> list[AgentView]:
        return [
            AgentView(
                name=a.name,
                description=a.description,
                handoffs=list(a.handoffs),
                tools=[t.key for t in self.tools_of(a.name)],
                model=a.model,
                feature=a.feature,
            )
            for a in self.agents.values()
        ]

    def features_to_pick(self) -> dict[str, Feature]:
        """Agent name -> the feature a tenant needs to pick it, for the agents that need one."""
        return {a.name: a.feature for a in self.agents.values() if a.feature is not None}

    def tool_views(self, agent: str | None = None) -> list[ToolView]:
        keys = [t.key for t in self.tools_of(agent)] if agent else list(self.tools)
        return [self._tool_view(self.tools[k]) for k in keys]

    def _tool_view(self, tool: ToolSpec) -> ToolView:
        users = [
            a.name for a in self.agents.values() if tool.key in a.tools and tool.allows(a.name)
        ]
        return ToolView(
            key=tool.key, description=tool.description, agents=users, parameters=tool.schema()
        )

    def routing(self) -> Mapping[str, AgentSpec]:
        return dict(self.agents)
