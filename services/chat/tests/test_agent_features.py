"""Picking an agent that needs a feature: refused (403) unless the tenant's features include it."""

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
