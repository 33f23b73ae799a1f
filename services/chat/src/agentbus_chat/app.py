"""Builds the chat service process: runtime, agents, model backend, RPC operations, background loops."""

from __future__ import annotations

from collections.abc import Sequence

from agents import set_tracing_disabled
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from agentbus_chat.agents import handlers as agent_handlers
from agentbus_chat.agents.catalog import DEFAULT_AGENTS, AgentCatalog, AgentSpec
from agentbus_chat.agents.team import build_team
from agentbus_chat.agents.tools import build_tools
from agentbus_chat.conversations import handlers as conversation_handlers
from agentbus_chat.conversations.repository import ConversationRepository
from agentbus_chat.conversations.service import ConversationService
from agentbus_chat.llm.backends import ModelBackend, build_backend
from agentbus_chat.models import SCHEMA, outbox
from agentbus_chat.runs import handlers as run_handlers
from agentbus_chat.runs.quota import QuotaGate
from agentbus_chat.runs.registry import LiveRuns
from agentbus_chat.runs.repository import RunRepository
from agentbus_chat.runs.reservations import RunReservations
from agentbus_chat.runs.service import ChatService
from agentbus_chat.settings import ChatSettings
from agentbus_shared.contracts.billing import BillingSummary
from agentbus_shared.contracts.billing import Operation as Billing
from agentbus_shared.contracts.common import Principal
from agentbus_shared.db import OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


def build(
    settings: ChatSettings | None = None,
    *,
    configure_process: bool = True,
    agents: Sequence[AgentSpec] = DEFAULT_AGENTS,
    backend: ModelBackend | None = None,
) -> ServiceRuntime:
    """The chat service; ``agents`` and ``backend`` replace the shipped team and the configured model."""
    settings = settings or ChatSettings()
    runtime = ServiceRuntime(
        "chat", settings, schema=SCHEMA, use_redis=True, configure_process=configure_process
    )
    db = runtime.db
    assert db is not None
    assert runtime.redis is not None
    set_tracing_disabled(not settings.tracing)

    def connection() -> NatsClient:
        return runtime.broker.connection

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    async def billing_summary(principal: Principal) -> BillingSummary:
        summary: BillingSummary = await runtime.rpc.request(
            "billing", Billing.SUMMARY_GET, {}, BillingSummary, principal=principal
        )
        return summary

    conversations = ConversationRepository()
    conversation_service = ConversationService(db, conversations)
    catalog = AgentCatalog(
        agents, build_tools(search=conversation_service.search_for_tool, billing=billing_summary)
    )
    backend = backend or build_backend(settings, catalog.agents)
    reservations = RunReservations(
        runtime.redis,
        per_user=settings.tuning.max_runs_per_user,
        per_tenant=settings.tuning.max_runs_per_tenant,
        lease_seconds=settings.tuning.lease_seconds,
    )
    live = LiveRuns(
        connection,
        db,
        conversations,
        reservations,
        lease_seconds=settings.tuning.lease_seconds,
        shutdown_grace=settings.tuning.shutdown_grace,
    )
    chat = ChatService(
        settings=settings,
        db=db,
        conversations=conversations,
        runs=RunRepository(),
        team=build_team(catalog, default_model=backend.default_model),
        backend=backend,
        quota=QuotaGate(
            jetstream,
            runtime.rpc,
            ttl=settings.tuning.entitlements_ttl,
            stale_ttl=settings.tuning.entitlements_stale_ttl,
            fail_open=settings.quota_fail_open,
        ),
        reservations=reservations,
        live=live,
        connection=connection,
        instance=runtime.instance,
    )

    agent_handlers.register(runtime.rpc_router, catalog)
    conversation_handlers.register(runtime.rpc_router, conversation_service)
    run_handlers.register(runtime.rpc_router, chat, connection)

    runtime.background("outbox-relay", OutboxRelay(db, outbox, runtime.publisher).run)
    runtime.background("run-leases", live.keep_leases)
    runtime.on_shutdown(backend.aclose)
    return runtime
