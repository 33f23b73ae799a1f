"""Conversations: lists, messages, renaming, deleting, and full-text search, each per owner."""

from __future__ import annotations

import base64

import pytest
from chat_support import ChatClient, FakeBilling, Sql, entitlements, principal
from faststream.nats import NatsBroker

from agentbus_shared.contracts.chat import MATCH_END, MATCH_START
from agentbus_shared.contracts.streams import CHAT_EVENTS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.waiting import eventually


async def test_conversations_are_listed_newest_first_page_by_page(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    created = [(await client.chat(f"Hello number {i}!"))["conversation_id"] for i in range(5)]

    first = await client.call("conversations.list", {"limit": 2})
    second = await client.call("conversations.list", {"limit": 2, "cursor": first["next_cursor"]})
    third = await client.call("conversations.list", {"limit": 2, "cursor": second["next_cursor"]})

    listed = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert listed == list(reversed(created))
    assert third["next_cursor"] is None
    assert first["items"][0]["title"] == "Hello number 4!"
    assert first["items"][0]["last_agent"] == "triage"


async def test_a_conversation_and_its_messages_in_order(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    opening = await client.chat("My dog is called Rex.")
    conversation = opening["conversation_id"]
    await client.chat("What is my dog?", conversation_id=conversation)

    view = await client.call("conversations.get", {"conversation_id": conversation})
    page = await client.call(
        "conversations.messages", {"conversation_id": conversation, "limit": 3}
    )
    rest = await client.call(
        "conversations.messages",
        {"conversation_id": conversation, "limit": 3, "cursor": page["next_cursor"]},
    )

    assert view["id"] == conversation
    assert view["title"] == "My dog is called Rex."
    contents = [m["content"] for m in page["items"] + rest["items"]]
    assert contents[0] == "My dog is called Rex."
    assert contents[2] == "What is my dog?"
    assert [m["role"] for m in page["items"] + rest["items"]] == ["user", "assistant"] * 2
    assert page["items"][1]["agent"] == "triage"
    assert rest["next_cursor"] is None


async def test_tool_results_are_kept_in_the_conversation(
    chat_service: ServiceRuntime, client: ChatClient, billing: FakeBilling
) -> None:
    billing.plans["t_alpha"] = entitlements("t_alpha", messages=None)  # with the research agent

    result = await client.chat("Please calculate 2^10")

    messages = await client.call(
        "conversations.messages", {"conversation_id": result["conversation_id"]}
    )

    assert [m["role"] for m in messages["items"]] == ["user", "tool", "assistant"]
    assert messages["items"][1]["content"] == "[calculator] 2^10 = 1024"
    assert messages["items"][1]["agent"] == "research"


async def test_renaming_a_conversation(chat_service: ServiceRuntime, client: ChatClient) -> None:
    opening = await client.chat("Hello!")

    renamed = await client.call(
        "conversations.update",
        {"conversation_id": opening["conversation_id"], "title": "Greetings"},
    )

    assert renamed["title"] == "Greetings"


async def test_deleting_a_conversation_removes_it_from_lists_search_and_agent_memory(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker, sql: Sql
) -> None:
    kept = await client.chat("The aurora borealis was beautiful.")
    gone = await client.chat("The aurora over Tromso was green.")

    reply = await client.rpc.call(
        "chat",
        "conversations.delete",
        {"conversation_id": gone["conversation_id"]},
        principal=client.caller,
    )

    listed = [c["id"] for c in (await client.call("conversations.list"))["items"]]
    hits = await client.call("conversations.search", {"q": "aurora"})
    missing = await client.error_of(
        "conversations.get", {"conversation_id": gone["conversation_id"]}
    )
    again = await client.error_of(
        "chat", {"message": "Hi", "conversation_id": gone["conversation_id"]}
    )
    memory = await sql(
        "SELECT count(*) AS n FROM chat.agent_items WHERE conversation_id = :c",
        c=gone["conversation_id"],
    )
    assert reply.status == 204
    assert listed == [kept["conversation_id"]]
    assert {h["conversation_id"] for h in hits["items"]} == {kept["conversation_id"]}
    assert missing.status == again.status == 404
    assert memory[0].n == 0

    async def announced() -> bool:
        info = await broker.connection.jetstream().stream_info(
            CHAT_EVENTS.name, subjects_filter="events.chat.t_alpha.conversation.deleted"
        )
        return bool(info.state.subjects)

    await eventually(announced)


async def test_another_user_cannot_read_rename_or_delete_my_conversation(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    mine = (await client.chat("My secret word is swordfish."))["conversation_id"]
    neighbour = ChatClient(client.broker, principal(tenant="t_alpha", user="u_bob"))
    stranger = ChatClient(client.broker, principal(tenant="t_beta", user="u_ada"))

    for other in (neighbour, stranger):
        for operation, payload in (
            ("conversations.get", {"conversation_id": mine}),
            ("conversations.messages", {"conversation_id": mine}),
            ("conversations.update", {"conversation_id": mine, "title": "mine now"}),
            ("conversations.delete", {"conversation_id": mine}),
        ):
            error = await other.error_of(operation, payload)
            assert error.status == 404, (operation, other.caller.subject)
        assert (await other.call("conversations.list"))["items"] == []

    assert (await client.call("conversations.get", {"conversation_id": mine}))["title"]


async def test_search_returns_only_the_callers_tenants_messages(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    other_tenant = ChatClient(client.broker, principal(tenant="t_beta", user="u_ada"))
    mine = await client.chat("Our quarterly invoice from the printer supplier arrived.")
    await other_tenant.chat("The printer supplier invoice for the other company arrived.")

    hits = await client.call("conversations.search", {"q": "printer invoice"})
    theirs = await other_tenant.call("conversations.search", {"q": "printer invoice"})

    assert [h["conversation_id"] for h in hits["items"]] == [mine["conversation_id"]]
    assert f"{MATCH_START}invoice{MATCH_END}" in hits["items"][0]["snippet"]
    assert f"{MATCH_START}printer{MATCH_END}" in hits["items"][0]["snippet"]
    assert hits["items"][0]["rank"] > 0
    assert len(theirs["items"]) == 1
    assert theirs["items"][0]["conversation_id"] != mine["conversation_id"]


async def test_search_marks_matches_apart_from_the_messages_markdown(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    await client.chat(f"Please pay the **invoice** {MATCH_START}today{MATCH_END} or call us.")

    hits = await client.call("conversations.search", {"q": "invoice"})

    snippet = hits["items"][0]["snippet"]
    assert f"**{MATCH_START}invoice{MATCH_END}** today" in snippet
    assert snippet.count(MATCH_START) == snippet.count(MATCH_END) == 1


async def test_search_ranks_better_matches_first_and_pages_with_a_cursor(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    strong = await client.chat(
        "Kubernetes deployment: the kubernetes pods of the kubernetes cluster."
    )
    weak = await client.chat("I read about kubernetes once.")
    await client.chat("Nothing relevant here at all.")

    first = await client.call("conversations.search", {"q": "kubernetes", "limit": 1})
    second = await client.call(
        "conversations.search", {"q": "kubernetes", "limit": 1, "cursor": first["next_cursor"]}
    )

    assert first["items"][0]["conversation_id"] == strong["conversation_id"]
    assert second["items"][0]["conversation_id"] == weak["conversation_id"]
    assert first["items"][0]["rank"] >= second["items"][0]["rank"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("operation", "query"),
    [
        ("conversations.list", {}),
        ("conversations.search", {"q": "kubernetes"}),
        ("conversations.messages", {"conversation_id": "conv_none"}),
    ],
)
async def test_a_type_confused_cursor_is_a_400_invalid_cursor(
    chat_service: ServiceRuntime, client: ChatClient, operation: str, query: dict[str, str]
) -> None:
    for raw in ("not-a-cursor", '[1,"2"]', '[{"a":1}]', "[[1],2]", "[true]"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode() if raw[0] == "[" else raw
        error = await client.error_of(operation, {**query, "cursor": cursor})

        assert (error.status, error.code) == (400, "invalid_cursor"), raw


async def test_reading_needs_the_read_scope(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    writer_only = ChatClient(client.broker, principal(scopes=frozenset({"conversations:write"})))

    error = await writer_only.error_of("conversations.list", {})

    assert error.status == 403


async def test_the_search_tool_finds_earlier_conversations_for_the_agent(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    await client.chat("The launch codename is Bluebird.")

    stream = await client.stream(
        "Please search my earlier conversations about Bluebird", agent="support"
    )

    (result,) = stream.of("tool_result")
    assert "Bluebird" in result.data["output"]
    assert "Earlier messages about 'Bluebird'" in result.data["output"]
