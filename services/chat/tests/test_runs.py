"""Chat runs over the real bus and database: routing, tools, streaming, memory, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_support import ChatClient, FakeBilling, Sql, entitlements, principal, running
from sqlalchemy import Row

from agentbus_chat.settings import ChatSettings
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.waiting import eventually


async def test_triage_hands_billing_question_to_billing_agent_which_asks_billing_for_callers_tenant(
    chat_service: ServiceRuntime, client: ChatClient, billing: FakeBilling
) -> None:
    stream = await client.stream("Which plan am I on, and how much of my quota is used?")

    assert [f.event for f in stream.frames[:2]] == ["conversation", "agent"]
    assert stream.frames[1].data == {"name": "triage"}
    assert stream.of("handoff")[0].data == {"from": "triage", "to": "billing"}
    assert {"name": "billing"} in [f.data for f in stream.of("agent")]
    (call,) = stream.of("tool_call")
    assert call.data["name"] == "billing_summary"
    assert call.data["arguments"] == {}
    (result,) = stream.of("tool_result")
    assert result.data["call_id"] == call.data["call_id"]
    assert "pro plan" in result.data["output"]
    summary_calls = billing.calls_of("summary.get")
    assert len(summary_calls) == 1
    caller = summary_calls[0][1]
    assert caller is not None
    assert caller.tenant_id == "t_alpha"
    assert caller.subject == "u_ada"
    final = stream.terminal
    assert final.event == "final"
    assert final.data["agent"] == "billing"
    assert final.data["output"] == stream.text
    assert final.data["usage"]["input_tokens"] > 0
    assert final.data["usage"]["output_tokens"] > 0


async def test_stream_frames_are_numbered_and_end_with_exactly_one_terminal_frame(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    stream = await client.stream("Hello there!")

    assert [f.seq for f in stream.frames] == list(range(1, len(stream.frames) + 1))
    first = stream.frames[0]
    assert first.event == "conversation"
    assert first.data == {
        "conversation_id": stream.started["conversation_id"] if stream.started else None,
        "stream_id": stream.stream_id,
    }
    assert len(stream.of("delta")) > 3, "the reply streams word by word"
    assert stream.frames[-1] is stream.terminal
    assert stream.terminal.event == "final"


async def test_chat_answers_with_the_whole_reply_and_its_usage(
    chat_service: ServiceRuntime, client: ChatClient, billing: FakeBilling
) -> None:
    billing.plans["t_alpha"] = entitlements("t_alpha", messages=None)  # with the research agent

    result = await client.chat("What is 12 * (3 + 4)?")

    assert result["agent"] == "research"
    assert "= 84" in result["output"]
    assert result["usage"]["input_tokens"] > 0
    assert result["usage"]["output_tokens"] > 0
    assert result["conversation_id"].startswith("conv_")


async def test_conversation_continues_across_a_service_restart_with_its_memory(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient
) -> None:
    async with running(settings):
        first = await client.chat("My favourite colour is teal.")
    async with running(settings):
        second = await client.chat(
            "What is my favourite colour?", conversation_id=first["conversation_id"]
        )
        messages = await client.call(
            "conversations.messages", {"conversation_id": first["conversation_id"]}
        )

    assert second["output"] == "Your favourite colour is teal."
    assert [m["role"] for m in messages["items"]] == ["user", "assistant", "user", "assistant"]


async def test_two_concurrent_messages_to_one_conversation_do_not_interleave(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, sql: Sql
) -> None:
    slow = settings.tuned(builtin_token_delay=0.02)
    async with running(slow):
        opening = await client.chat("Hello!")
        conversation = opening["conversation_id"]

        outcomes = await asyncio.gather(
            client.chat("My city is Lyon.", conversation_id=conversation),
            client.chat("My pet is a cat.", conversation_id=conversation),
            return_exceptions=True,
        )
        errors = [o for o in outcomes if isinstance(o, Exception)]
        replies = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(replies) == 1
        assert len(errors) == 1
        assert getattr(errors[0], "status", None) == 409
        assert getattr(errors[0], "code", None) == "conversation_busy"

        after = await client.chat("What is my city?", conversation_id=conversation)
        messages = await client.call("conversations.messages", {"conversation_id": conversation})

    roles = [m["role"] for m in messages["items"]]
    assert roles == ["user", "assistant"] * 3
    memory = await sql(
        "SELECT item FROM chat.agent_items WHERE conversation_id = :c ORDER BY seq",
        c=conversation,
    )
    memory_roles = [row.item.get("role") for row in memory]
    assert memory_roles == ["user", "assistant"] * 3, "each turn is stored whole, in order"
    if "Lyon" in replies[0]["output"]:
        assert after["output"] == "Your city is Lyon."


async def test_a_streamed_run_finishes_and_is_saved_when_the_client_leaves(
    chat_service: ServiceRuntime, client: ChatClient, sql: Sql
) -> None:
    stream, _, unsubscribe = await client.open_stream("Hello, how are you?")
    await unsubscribe()
    conversation = stream.started["conversation_id"] if stream.started else ""

    async def saved() -> list[Row[Any]]:
        return await sql(
            "SELECT status FROM chat.messages WHERE conversation_id = :c AND role = 'assistant'",
            c=conversation,
        )

    rows = await eventually(saved, what="the reply saved")
    assert rows[0].status == "complete"


async def test_a_run_may_start_with_a_chosen_agent(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    stream = await client.stream("Please search my conversations about invoices", agent="support")

    assert stream.frames[1].data == {"name": "support"}
    assert not stream.of("handoff")
    assert stream.of("tool_call")[0].data["name"] == "search_conversations"


async def test_unknown_agent_and_unknown_conversation_are_refused(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    unknown_agent = await client.error_of("chat", {"message": "hi", "agent": "wizard"})
    unknown_conversation = await client.error_of(
        "chat", {"message": "hi", "conversation_id": "conv_nope"}
    )

    assert (unknown_agent.status, unknown_agent.code) == (422, "unknown_agent")
    assert (unknown_conversation.status, unknown_conversation.code) == (
        404,
        "conversation_not_found",
    )


async def test_another_users_conversation_cannot_be_continued(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    mine = await client.chat("My secret word is swordfish.")
    other = ChatClient(client.broker, principal(tenant="t_beta", user="u_bob"))

    error = await other.error_of(
        "chat", {"message": "What is my secret word?", "conversation_id": mine["conversation_id"]}
    )

    assert error.status == 404


async def test_chat_needs_a_principal_with_the_write_scope(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    reader = ChatClient(client.broker, principal(scopes=frozenset({"conversations:read"})))

    forbidden = await reader.error_of("chat", {"message": "hi"})
    from agentbus_shared.bus import RpcClient
    from agentbus_shared.errors import AgentbusError

    try:
        await RpcClient(client.broker).call("chat", "chat", {"message": "hi"})
    except AgentbusError as exc:
        anonymous = exc
    assert forbidden.status == 403
    assert anonymous.status == 401


async def test_the_model_sees_only_as_much_history_as_the_token_budget_allows(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, sql: Sql
) -> None:
    filler = "Tell me more about it. " + "This sentence only pads the conversation out. " * 12
    async with running(settings.tuned(history_token_budget=256)):
        opening = await client.chat("My code word is falcon.")
        conversation = opening["conversation_id"]
        recent = await client.chat("What is my code word?", conversation_id=conversation)
        for _ in range(3):
            await client.chat(filler, conversation_id=conversation)
        later = await client.chat("What is my code word?", conversation_id=conversation)

    assert recent["output"] == "Your code word is falcon."
    assert later["output"].startswith("You have not told me your code word yet")
    stored = await sql(
        "SELECT count(*) AS n FROM chat.agent_items WHERE conversation_id = :c", c=conversation
    )
    assert stored[0].n == 12, "trimming limits what the model sees, not what is kept"
    growth = later["usage"]["input_tokens"] - recent["usage"]["input_tokens"]
    assert growth < 256, "at most the budget's worth of history more than the short conversation"
