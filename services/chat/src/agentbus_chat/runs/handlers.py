"""RPC operations of chat runs: decode, call the service, encode; and the consumer that stops a
suspended tenant's runs on every replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_chat.runs.frames import NatsFrameSink
from agentbus_shared.bus import CallerPrincipal, Reply
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.chat import (
    ChatCall,
    ChatRequest,
    ChatResult,
    Operation,
    StreamCancelled,
    StreamRef,
    StreamStart,
    StreamStarted,
    StreamStatus,
)
from agentbus_shared.contracts.common import Scope
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import TenantSuspended
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_chat.app import ChatParts

# POST /chat messages one replica takes off the bus at once. Those beyond its run slots wait
# in the replica (not in the client library's buffer), where stream.status can see them.
CHAT_RECEIVERS = 1024
WRITE = {Scope.CONVERSATIONS_WRITE}

TENANT_SUSPENDED_CONSUMER = DurableConsumer(
    service="chat",
    name="chat-tenant-suspended",
    stream=AUTH_EVENTS,
    subject=TenantSuspended.filter_subject(),
    retry=RetryPolicy(max_deliver=6),
    max_workers=2,
)


def register(runtime: ServiceRuntime, parts: ChatParts) -> None:
    ops, service = runtime.rpc_router, parts.chat

    @ops.operation(
        Operation.CHAT,
        scopes=WRITE,
        max_workers=CHAT_RECEIVERS,
        description="Send a message; answer with the reply. With a run_ref, stream.status "
        "and stream.cancel reach the run while it lasts.",
    )
    async def chat(cmd: ChatCall, principal: CallerPrincipal) -> ChatResult:
        request = ChatRequest(
            message=cmd.message, conversation_id=cmd.conversation_id, agent=cmd.agent
        )
        return await service.chat(principal, request, run_ref=cmd.run_ref)

    @ops.operation(
        Operation.STREAM_START,
        scopes=WRITE,
        description="Accept a streamed run; frames follow on streams.chat.<stream_id>.",
    )
    async def stream_start(cmd: StreamStart, principal: CallerPrincipal) -> StreamStarted:
        request = ChatRequest(
            message=cmd.message, conversation_id=cmd.conversation_id, agent=cmd.agent
        )
        sink = NatsFrameSink(runtime.broker.connection, cmd.stream_id)
        run = await service.start_stream(principal, request, cmd.stream_id, sink)
        return StreamStarted(conversation_id=run.conversation_id, stream_id=cmd.stream_id)

    @ops.operation(Operation.STREAM_CANCEL, scopes=WRITE, description="Stop a streamed run.")
    async def stream_cancel(cmd: StreamRef, principal: CallerPrincipal) -> Reply[StreamCancelled]:
        return Reply(await service.cancel(principal, cmd.stream_id), status=202)

    @ops.operation(
        Operation.STREAM_STATUS,
        scopes=WRITE,
        description="Whether a streamed run still runs (a run whose replica died: interrupted).",
    )
    async def stream_status(cmd: StreamRef, principal: CallerPrincipal) -> StreamStatus:
        return await service.status(principal, cmd.stream_id)

    @runtime.on_startup
    async def hear_tenant_stops() -> None:
        await parts.live.hear_tenant_stops()

    @runtime.consumer(TENANT_SUSPENDED_CONSUMER)
    async def on_tenant_suspended(event: CloudEvent[TenantSuspended]) -> None:
        """One replica hears the event (again on a redelivery: stopping twice is harmless) and
        tells every replica to stop the tenant's runs begun before it (a late event leaves the
        runs of a tenant reactivated since alone)."""
        await runtime.broker.connection.publish(
            subjects.chat_tenant_runs_stop(event.data.tenant_id),
            event.data.suspended_at.isoformat().encode(),
        )
