"""Cancelling streams (from any replica), shutdown, orphaned runs, and usage events once per run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chat_support import (
    ChatClient,
    FakeBilling,
    Sql,
    is_delta,
    is_terminal,
    next_frame,
    principal,
    running,
)
from faststream.nats import NatsBroker
from sqlalchemy import Row

from agentbus_chat.settings import ChatSettings
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.chat import StreamFrame
from agentbus_shared.contracts.events import make_event
from agentbus_shared.contracts.platform import TenantSuspended
from agentbus_shared.contracts.streams import CHAT_EVENTS
from agentbus_shared.errors import AgentbusError
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.waiting import eventually

SUPPORT_QUESTION = "I have a problem: my account settings page is broken."
USAGE_SUBJECT = "events.chat.t_alpha.usage.recorded"


async def _deltas(queue: asyncio.Queue[StreamFrame], count: int) -> None:
    for _ in range(count):
        await next_frame(queue, is_delta)


async def _until_terminal(queue: asyncio.Queue[StreamFrame]) -> StreamFrame:
    return await next_frame(queue, is_terminal)


async def _stop_serving(runtime: ServiceRuntime, operation: str) -> None:
    """Take one RPC operation away from a replica, so the queue group sends it elsewhere."""
    for subscriber in runtime.broker.subscribers:
        if getattr(subscriber, "_resolved_subject_string", None) == f"rpc.chat.v1.{operation}":
            await subscriber.stop()
            # The UNSUB must reach the server before the next request is routed.
            await runtime.broker.connection.flush()
            return
    raise AssertionError(f"no subscriber for {operation}")


async def _left_running(sql: Sql, conversation: str, run_id: str, stream_id: str) -> None:
    """A run of u_ada recorded as ``running``, as a replica that died mid-run leaves it."""
    await sql(
        "INSERT INTO chat.runs (id, tenant_id, user_id, conversation_id, stream_id, status) "
        "VALUES (:r, 't_alpha', 'u_ada', :c, :s, 'running')",
        r=run_id,
        c=conversation,
        s=stream_id,
    )


async def _leased(sql: Sql, conversation: str, run_id: str, expires_in: timedelta) -> None:
    """The conversation leased to ``run_id`` until ``expires_in`` from now (past when negative)."""
    await sql(
        "UPDATE chat.conversations SET active_run_id = :r, "
        "lease_expires_at = now() + :expires_in WHERE id = :c",
        r=run_id,
        c=conversation,
        expires_in=expires_in,
    )


async def _usage_events(broker: NatsBroker) -> int:
    info = await broker.connection.jetstream().stream_info(
        CHAT_EVENTS.name, subjects_filter=USAGE_SUBJECT
    )
    return int((info.state.subjects or {}).get(USAGE_SUBJECT, 0))


async def test_cancel_on_another_replica_stops_the_stream_with_a_terminal_frame_and_saves_partial_reply(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, sql: Sql
) -> None:
    slow = settings.tuned(builtin_token_delay=0.05)
    async with running(slow) as runner:
        stream, queue, unsubscribe = await client.open_stream(SUPPORT_QUESTION)
        await _deltas(queue, 3)
        async with running(slow):
            await _stop_serving(runner, "stream.cancel")
            reply = await client.rpc.call(
                "chat", "stream.cancel", {"stream_id": stream.stream_id}, principal=client.caller
            )
            terminal = await _until_terminal(queue)
        await unsubscribe()
        conversation = stream.started["conversation_id"] if stream.started else ""
        follow_up = await client.chat("Thanks!", conversation_id=conversation)

    assert reply.status == 202
    assert reply.data == {"stream_id": stream.stream_id, "status": "cancelling"}
    assert terminal.event == "error"
    assert terminal.data["code"] == "cancelled"
    assert len(stream.of("delta")) < 40, "the reply stopped early"
    partial = stream.text
    messages = await sql(
        "SELECT role, status, content FROM chat.messages WHERE conversation_id = :c ORDER BY seq",
        c=conversation,
    )
    assert (messages[1].role, messages[1].status) == ("assistant", "partial")
    assert messages[1].content == partial
    run = (
        await sql(
            "SELECT status, output_tokens FROM chat.runs WHERE stream_id = :s", s=stream.stream_id
        )
    )[0]
    assert run.status == "cancelled"
    assert run.output_tokens > 0, "the tokens streamed before the cancel are counted"
    memory = await sql(
        "SELECT item FROM chat.agent_items WHERE conversation_id = :c ORDER BY seq", c=conversation
    )
    items = [row.item for row in memory]
    assert items[0] == {"role": "user", "content": SUPPORT_QUESTION}
    assert items[-3] == {"role": "assistant", "content": partial}, "the partial reply is remembered"
    assert items[-2]["role"] == "user", "the next turn follows it"
    assert follow_up["output"], "the conversation is free again after the cancel"


async def test_cancelling_a_finished_stream_reports_how_it_ended(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    stream = await client.stream("Hello!")

    reply = await client.call("stream.cancel", {"stream_id": stream.stream_id})

    assert reply == {"stream_id": stream.stream_id, "status": "completed"}


async def test_cancelling_someone_elses_stream_is_not_found(
    chat_service: ServiceRuntime, client: ChatClient
) -> None:
    stream = await client.stream("Hello!")
    stranger = ChatClient(client.broker, principal(tenant="t_beta", user="u_eve"))

    error = await stranger.error_of("stream.cancel", {"stream_id": stream.stream_id})

    assert (error.status, error.code) == (404, "stream_not_found")


async def test_cancelling_a_run_whose_replica_died_marks_it_interrupted_and_frees_the_conversation(
    chat_service: ServiceRuntime, client: ChatClient, sql: Sql
) -> None:
    opening = await client.chat("Hello!")
    conversation = opening["conversation_id"]
    await _left_running(sql, conversation, "run_dead", "s_dead_stream")
    await _leased(sql, conversation, "run_dead", timedelta(hours=1))
    busy = await client.error_of("chat", {"message": "Hi", "conversation_id": conversation})

    reply = await client.call("stream.cancel", {"stream_id": "s_dead_stream"})
    after = await client.chat("Hello again!", conversation_id=conversation)

    assert busy.status == 409
    assert reply["status"] == "interrupted"
    assert after["output"]


async def test_stream_status_tells_running_finished_and_lost_runs_apart(
    settings: ChatSettings, client: ChatClient, sql: Sql
) -> None:
    slow = settings.tuned(builtin_token_delay=0.05)
    async with running(slow):
        stream, queue, unsubscribe = await client.open_stream(SUPPORT_QUESTION)
        await _deltas(queue, 1)
        live = await client.call("stream.status", {"stream_id": stream.stream_id})
        await _until_terminal(queue)
        await unsubscribe()
        done = await client.call("stream.status", {"stream_id": stream.stream_id})

        opening = await client.chat("Hello!")
        await _left_running(sql, opening["conversation_id"], "run_lost", "s_lost_stream")
        lost = await client.call("stream.status", {"stream_id": "s_lost_stream"})
        unknown = await client.error_of("stream.status", {"stream_id": "s_no_such_stream"})

    assert live["status"] == "running"
    assert done["status"] == "completed"
    assert lost["status"] == "interrupted"  # nobody runs it: its replica died
    assert (unknown.status, unknown.code) == (404, "stream_not_found")


async def test_an_expired_lease_of_a_dead_replica_does_not_block_the_conversation(
    chat_service: ServiceRuntime, client: ChatClient, sql: Sql
) -> None:
    opening = await client.chat("Hello!")
    await _leased(sql, opening["conversation_id"], "run_gone", -timedelta(seconds=1))

    after = await client.chat("Hello again!", conversation_id=opening["conversation_id"])

    assert after["output"]


async def test_stopping_the_service_ends_live_streams_with_a_terminal_frame_and_saves_them(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, sql: Sql
) -> None:
    slow = settings.tuned(builtin_token_delay=0.05)
    async with running(slow):
        stream, queue, unsubscribe = await client.open_stream(SUPPORT_QUESTION)
        await _deltas(queue, 2)
    terminal = await _until_terminal(queue)
    await unsubscribe()

    assert terminal.event == "error"
    assert terminal.data["code"] == "shutdown"
    run = (await sql("SELECT status FROM chat.runs WHERE stream_id = :s", s=stream.stream_id))[0]
    assert run.status == "interrupted"
    saved = await sql(
        "SELECT status, content FROM chat.messages WHERE run_id IN "
        "(SELECT id FROM chat.runs WHERE stream_id = :s) AND role = 'assistant'",
        s=stream.stream_id,
    )
    assert saved[0].status == "partial"
    assert saved[0].content == stream.text


async def test_usage_is_published_once_per_run_even_if_the_publish_is_retried(
    chat_service: ServiceRuntime, client: ChatClient, broker: NatsBroker, sql: Sql
) -> None:
    result = await client.chat("Hello!")
    run = (
        await sql(
            "SELECT id, input_tokens, output_tokens FROM chat.runs WHERE conversation_id = :c",
            c=result["conversation_id"],
        )
    )[0]

    async def published() -> bool:
        return await _usage_events(broker) == 1

    await eventually(published, what="the usage event published")
    stored = await broker.connection.jetstream().get_last_msg(CHAT_EVENTS.name, USAGE_SUBJECT)
    # A relay that crashed between publishing and marking the row publishes it again ...
    await sql("UPDATE chat.outbox SET published_at = NULL WHERE id = :id", id=run.id)

    async def republished() -> list[Row[Any]]:
        return await sql(
            "SELECT 1 FROM chat.outbox WHERE id = :id AND published_at IS NOT NULL", id=run.id
        )

    await eventually(republished, what="the outbox row published again")
    # ... and a publisher retrying after a lost ack sends the same message id again.
    ack = await chat_service.publisher.publish_raw(
        USAGE_SUBJECT,
        stored.data or b"",
        msg_id=run.id,
        content_type="application/cloudevents+json",
    )

    assert ack.duplicate
    assert await _usage_events(broker) == 1
    event = json.loads(stored.data or b"{}")
    assert event["id"] == run.id
    assert event["type"] == "dev.agentbus.chat.usage.recorded"
    assert event["data"]["run_id"] == run.id
    assert event["data"]["tenant_id"] == "t_alpha"
    assert event["data"]["model"] == "builtin"
    assert event["data"]["agent"] == "triage"
    assert event["data"]["input_tokens"] == run.input_tokens == result["usage"]["input_tokens"]
    assert event["data"]["output_tokens"] == run.output_tokens == result["usage"]["output_tokens"]


async def test_a_run_abandoned_by_a_dead_replica_is_recorded_as_interrupted(
    chat_service: ServiceRuntime, client: ChatClient, sql: Sql
) -> None:
    opening = await client.chat("Hello!")
    conversation = opening["conversation_id"]
    await _left_running(sql, conversation, "run_abandoned", "s_abandoned")
    await _leased(sql, conversation, "run_abandoned", -timedelta(seconds=1))

    async def ended() -> Row[Any] | None:
        rows = await sql(
            "SELECT status, error_code, finished_at FROM chat.runs WHERE id = 'run_abandoned'"
        )
        return rows[0] if rows[0].status != "running" else None

    run = await eventually(ended, what="the abandoned run recorded as ended", timeout=10)

    assert (run.status, run.error_code) == ("interrupted", "abandoned")
    assert run.finished_at is not None
    live = await sql("SELECT count(*) AS n FROM chat.runs WHERE status = 'interrupted'")
    assert live[0].n == 1


async def test_a_chat_named_by_its_caller_is_reachable_by_stream_status_while_it_runs(
    settings: ChatSettings, client: ChatClient
) -> None:
    slow = settings.tuned(builtin_token_delay=0.05)
    async with running(slow):
        reply = asyncio.create_task(client.chat(SUPPORT_QUESTION, run_ref="run_named_by_gw"))
        seen: list[str] = []
        while not seen or seen[-1] != "running":
            assert not reply.done(), "the run ended before it was seen running"
            try:
                answer = await client.call("stream.status", {"stream_id": "run_named_by_gw"})
            except AgentbusError as exc:  # not recorded yet
                seen.append(exc.code)
            else:
                seen.append(answer["status"])
            await asyncio.sleep(0.02)
        result = await reply
        done = await client.call("stream.status", {"stream_id": "run_named_by_gw"})

    assert set(seen) <= {"stream_not_found", "running"}
    assert result["output"]
    assert done["status"] == "completed"


async def test_a_named_chat_waiting_for_a_run_slot_is_running_to_stream_status(
    settings: ChatSettings, client: ChatClient
) -> None:
    one_slot = settings.tuned(builtin_token_delay=0.1, run_slots=1)
    async with running(one_slot):
        first = asyncio.create_task(client.chat(SUPPORT_QUESTION, run_ref="run_first_in_line"))
        await eventually(_status_of(client, "run_first_in_line"), what="the first run running")
        waiting = asyncio.create_task(client.chat(SUPPORT_QUESTION, run_ref="run_second_in_line"))
        # Held by the replica without a row yet: the replica itself answers for it.
        status = await eventually(
            _status_of(client, "run_second_in_line"), what="the waiting run running"
        )
        # The first still runs, so the second was answered for while it waited for the slot.
        assert not first.done() and not waiting.done()
        with pytest.raises(AgentbusError) as unknown:
            await client.call("stream.status", {"stream_id": "run_nobody_holds"})
        assert unknown.value.code == "stream_not_found"
        results = [await first, await waiting]
    assert status["status"] == "running"
    assert all(result["output"] for result in results)


def _status_of(
    client: ChatClient, stream_id: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """A check of ``eventually``: the run's ``stream.status`` once it is ``running``."""

    async def running_now() -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = await client.call("stream.status", {"stream_id": stream_id})
        except AgentbusError:  # not held or recorded yet
            return None
        return answer if answer.get("status") == "running" else None

    return running_now


async def test_suspending_a_tenant_ends_its_running_streams_on_every_replica(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, sql: Sql, broker: NatsBroker
) -> None:
    slow = settings.tuned(builtin_token_delay=0.05)
    neighbour = ChatClient(broker, principal(tenant="t_beta", user="u_eve"))
    async with running(slow), running(slow):
        stream, queue, unsubscribe = await client.open_stream(SUPPORT_QUESTION)
        _, other_queue, other_unsubscribe = await neighbour.open_stream(SUPPORT_QUESTION)
        await _deltas(queue, 3)
        suspended = TenantSuspended(
            tenant_id="t_alpha",
            reason="unpaid",
            suspended_by="u_op",
            suspended_at=datetime.now(UTC),
        )
        event = make_event(suspended, tenant_id="t_alpha")
        await broker.publish(event.to_bytes(), event.nats_subject)
        terminal = await _until_terminal(queue)
        other_terminal = await _until_terminal(other_queue)
        await unsubscribe()
        await other_unsubscribe()

    assert terminal.event == "error"
    assert terminal.data["code"] == "tenant_suspended"
    assert other_terminal.event == "final", "another tenant's run goes on"
    run = (
        await sql(
            "SELECT status, error_code FROM chat.runs WHERE stream_id = :s", s=stream.stream_id
        )
    )[0]
    assert (run.status, run.error_code) == ("cancelled", "tenant_suspended")


async def test_a_stop_heard_late_leaves_runs_begun_after_the_suspension_alone(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient, broker: NatsBroker
) -> None:
    """A suspension heard a minute late (the tenant reactivated since) stops none of the runs
    begun after it; the stop of another tenant, sent after it, shows it was heard."""
    neighbour = ChatClient(broker, principal(tenant="t_beta", user="u_eve"))
    async with running(settings.tuned(builtin_token_delay=0.05)):
        _, queue, unsubscribe = await client.open_stream(SUPPORT_QUESTION)
        _, other_queue, other_unsubscribe = await neighbour.open_stream(SUPPORT_QUESTION)
        await _deltas(queue, 3)
        await _deltas(other_queue, 3)
        a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        await broker.publish(
            a_minute_ago.isoformat().encode(), subjects.chat_tenant_runs_stop("t_alpha")
        )
        await broker.publish(
            datetime.now(UTC).isoformat().encode(), subjects.chat_tenant_runs_stop("t_beta")
        )
        other_terminal = await _until_terminal(other_queue)
        terminal = await _until_terminal(queue)
        await unsubscribe()
        await other_unsubscribe()

    assert other_terminal.data["code"] == "tenant_suspended"
    assert terminal.event == "final"
