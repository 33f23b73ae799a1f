"""Per-agent tool scoping: an agent sees only its tools and cannot call another's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from agents import Agent, FunctionTool, ModelProvider, ModelSettings
from agents.models.interface import Model
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from chat_support import ChatClient, FakeBilling, no_billing, no_search, principal, running

from agentbus_chat.agents.catalog import DEFAULT_AGENTS, AgentCatalog
from agentbus_chat.agents.context import ChatContext
from agentbus_chat.agents.tools import (
    BillingSummaryClient,
    MessageSearch,
    ToolNotAllowed,
    build_tools,
)
from agentbus_chat.llm.backends import ModelBackend
from agentbus_chat.settings import ChatSettings
from agentbus_shared.contracts.billing import BillingSummary
from agentbus_shared.contracts.chat import MATCH_END, MATCH_START, SearchHit
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.errors import Forbidden
from agentbus_shared.runtime import ServiceRuntime


class _OneModel(ModelProvider):
    def __init__(self, model: Model) -> None:
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return self.model


def scripted(model: ScriptedModel) -> ModelBackend:
    return ModelBackend("scripted", _OneModel(model), "scripted", ModelSettings())


def tool_call(
    name: str,
    *,
    agent: str,
    arguments: str = "{}",
    search: MessageSearch = no_search,
    billing: BillingSummaryClient = no_billing,
    caller: Principal | None = None,
    run_id: str = "run_1",
) -> tuple[FunctionTool, ToolContext[ChatContext]]:
    """The tool ``name`` over ``search`` and ``billing``, and the context of one call of it by
    ``agent`` in a run of ``caller``."""
    catalog = AgentCatalog(DEFAULT_AGENTS, build_tools(search=search, billing=billing))
    context = ToolContext(
        context=ChatContext(caller or principal(), "conv_1", run_id),
        tool_name=name,
        tool_call_id="call_1",
        tool_arguments=arguments,
        agent=Agent(name=agent),
    )
    return catalog.tools[name].function_tool(), context


async def test_an_agent_cannot_call_a_tool_outside_its_scope(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient
) -> None:
    model = ScriptedModel(
        [[function_call("billing_summary", {}, call_id="call_sneaky")], [assistant_message("x")]]
    )
    async with running(settings, scripted(model)):
        stream = await client.stream("How much do I pay?", agent="support")

    assert stream.terminal.event == "error"
    assert stream.terminal.data["code"] == "model_error"
    assert not stream.of("tool_result")
    assert billing.calls_of("summary.get") == [], "billing was never asked"
    offered = [getattr(t, "name", "") for t in model.calls[0].tools]
    assert "billing_summary" not in offered


async def test_an_agent_calls_the_tools_in_its_scope(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient
) -> None:
    model = ScriptedModel(
        [
            [function_call("billing_summary", {}, call_id="call_ok")],
            [assistant_message("You are on the pro plan.")],
        ]
    )
    async with running(settings, scripted(model)):
        stream = await client.stream("How much do I pay?", agent="billing")

    assert stream.terminal.event == "final"
    assert stream.of("tool_result")[0].data["call_id"] == "call_ok"
    assert len(billing.calls_of("summary.get")) == 1


async def test_agents_list_their_handoffs_and_only_their_tools(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    agents = {a["name"]: a for a in (await client.call("agents.list"))["items"]}
    support_tools = await client.call("tools.list", {"agent": "support"})
    all_tools = await client.call("tools.list")
    unknown = await client.error_of("tools.list", {"agent": "wizard"})

    assert agents["triage"]["handoffs"] == ["support", "billing", "research"]
    assert agents["billing"]["tools"] == ["billing_summary", "current_time"]
    assert "billing_summary" not in agents["support"]["tools"]
    assert [t["key"] for t in support_tools["items"]] == ["current_time", "search_conversations"]
    billing_tool = next(t for t in all_tools["items"] if t["key"] == "billing_summary")
    assert billing_tool["agents"] == ["billing"]
    calculator = next(t for t in all_tools["items"] if t["key"] == "calculator")
    assert calculator["parameters"]["required"] == ["expression"]
    assert unknown.status == 404


async def test_a_tool_refuses_an_agent_outside_its_scope_even_if_handed_to_it() -> None:
    asked: list[Principal] = []

    async def billing(caller: Principal) -> BillingSummary:
        asked.append(caller)
        raise AssertionError("must not be reached")

    tool, context = tool_call("billing_summary", billing=billing, agent="support")

    with pytest.raises(ToolNotAllowed):
        await tool.on_invoke_tool(context, "{}")
    assert asked == []


async def test_tools_get_tenant_and_user_from_the_run_context() -> None:
    searched: list[dict[str, object]] = []

    async def search(**query: object) -> list[SearchHit]:
        searched.append(query)
        return [
            SearchHit(
                conversation_id="conv_9",
                message_id="msg_9",
                snippet=f"the {MATCH_START}invoice{MATCH_END} was late",
                rank=0.5,
                created_at=datetime(2026, 1, 2, tzinfo=UTC),
            )
        ]

    tool, context = tool_call(
        "search_conversations",
        agent="research",
        arguments=json.dumps({"query": "invoice"}),
        search=search,
        caller=principal(tenant="t_gamma", user="u_zoe"),
        run_id="run_7",
    )

    output = await tool.on_invoke_tool(context, context.tool_arguments)

    assert searched == [
        {
            "tenant_id": "t_gamma",
            "user_id": "u_zoe",
            "query": "invoice",
            "limit": 5,
            "exclude_run": "run_7",
        }
    ]
    assert "2026-01-02: the invoice was late" in output


async def test_billing_tool_run_by_a_caller_without_billing_read_reveals_no_plan_or_usage(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient
) -> None:
    robot = Principal(
        kind="service_account",
        subject="sa_robot",
        tenant_id="t_alpha",
        scopes=frozenset({Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}),
    )
    model = ScriptedModel(
        [
            [function_call("billing_summary", {}, call_id="call_plan")],
            [assistant_message("I cannot see the billing details.")],
        ]
    )
    async with running(settings, scripted(model)):
        stream = await ChatClient(client.broker, robot).stream(
            "Which plan am I on?", agent="billing"
        )

    assert stream.terminal.event == "final"
    (result,) = stream.of("tool_result")
    assert result.data["output"].startswith("Not permitted: billing_summary needs billing:read")
    assert "pro" not in result.data["output"]
    assert "messages" not in result.data["output"]
    assert billing.calls_of("summary.get") == [], "billing was never asked"


async def test_billing_tool_answers_not_permitted_when_billing_refuses_the_caller() -> None:
    async def billing(caller: Principal) -> BillingSummary:
        raise Forbidden("Missing scope: billing:read", details={"missing_scopes": ["billing:read"]})

    tool, context = tool_call("billing_summary", billing=billing, agent="billing")

    output = await tool.on_invoke_tool(context, "{}")

    assert (
        output
        == "Not permitted: billing_summary needs billing:read, which the caller does not hold."
    )


async def test_search_tool_needs_the_callers_conversations_read() -> None:
    searched: list[dict[str, object]] = []

    async def search(**query: object) -> list[SearchHit]:
        searched.append(query)
        return []

    tool, context = tool_call(
        "search_conversations",
        agent="research",
        arguments=json.dumps({"query": "invoice"}),
        search=search,
        caller=principal(scopes=frozenset({Scope.CONVERSATIONS_WRITE})),
    )

    output = await tool.on_invoke_tool(context, context.tool_arguments)

    assert output.startswith("Not permitted: search_conversations needs conversations:read")
    assert searched == []
