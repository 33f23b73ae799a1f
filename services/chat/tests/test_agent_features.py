"""An agent that needs a feature: picking it is refused (403) unless the tenant's features include
it, and no other agent hands a conversation to it either."""

from __future__ import annotations

from chat_support import ChatClient, FakeBilling, Sql, entitlements, put_entitlements
from faststream.nats import NatsBroker

from agentbus_shared.runtime import ServiceRuntime


async def _nothing_ran(sql: Sql) -> bool:
    runs = await sql("SELECT count(*) AS n FROM chat.runs")
    return runs[0].n == 0


async def test_picking_the_research_agent_without_the_feature_is_refused_before_any_run(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker, sql: Sql
) -> None:
    await put_entitlements(broker, entitlements("t_alpha", plan="free", features=("chat",)))

    error = await client.error_of("chat", {"message": "What is 2 + 2?", "agent": "research"})
    streamed = await client.error_of(
        "stream.start", {"message": "What is 2 + 2?", "agent": "research", "stream_id": "s_feat_1"}
    )

    assert (error.status, error.code) == (403, "feature_not_in_plan")
    assert error.details == {"feature": "research_agent", "plan": "free"}
    assert (streamed.status, streamed.code) == (403, "feature_not_in_plan")
    assert await _nothing_ran(sql)


async def test_a_tenant_with_the_feature_picks_the_research_agent(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker
) -> None:
    await put_entitlements(broker, entitlements("t_alpha", features=("chat", "research_agent")))

    result = await client.chat("What is 2 + 2?", agent="research")

    assert result["agent"] == "research"


async def test_triage_hands_nothing_to_the_research_agent_without_the_feature(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker
) -> None:
    await put_entitlements(
        broker, entitlements("t_alpha", plan="free", features=("chat", "service_accounts"))
    )

    stream = await client.stream("Please calculate (12 * 7) + 3 for my garden budget")

    assert stream.of("handoff") == []
    assert stream.of("tool_call") == []
    assert stream.terminal.event == "final"
    assert stream.terminal.data["agent"] == "triage"


async def test_with_the_feature_triage_hands_research_to_the_research_agent(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker
) -> None:
    await put_entitlements(broker, entitlements("t_alpha", features=("chat", "research_agent")))

    stream = await client.stream("Please calculate (12 * 7) + 3 for my garden budget")

    assert [f.data for f in stream.of("handoff")] == [{"from": "triage", "to": "research"}]
    assert stream.terminal.data["agent"] == "research"


async def test_a_paying_tenants_entry_decides_while_billing_is_down(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker, billing: FakeBilling
) -> None:
    """Billing being down leaves its entries in the bucket: the tenant keeps its plan's features."""
    billing.unreachable = True
    await put_entitlements(broker, entitlements("t_alpha", features=("chat", "research_agent")))

    result = await client.chat("What is 2 + 2?", agent="research")

    assert result["agent"] == "research"


async def test_without_any_entitlements_the_free_plans_features_decide(
    chat_service: ServiceRuntime, client: ChatClient, billing: FakeBilling
) -> None:
    billing.unreachable = True  # and no KV entry: quotas fail open, features fall back

    refused = await client.error_of("chat", {"message": "What is 2 + 2?", "agent": "research"})
    answered = await client.chat("Hello!")

    assert (refused.status, refused.code) == (403, "feature_not_in_plan")
    assert answered["output"]


async def test_the_agents_list_names_the_feature_picking_an_agent_needs(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    agents = {a["name"]: a for a in (await client.call("agents.list", {}))["items"]}

    assert agents["research"]["feature"] == "research_agent"
    assert agents["triage"]["feature"] is None
