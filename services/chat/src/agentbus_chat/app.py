"""Builds the chat service process: its parts, its operations, its background loops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents import set_tracing_disabled
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from agentbus_chat.agents import handlers as agent_handlers
from agentbus_chat.agents.catalog import DEFAULT_AGENTS, AgentCatalog, AgentSpec
from agentbus_chat.agents.team import build_team
from agentbus_chat.agents.tools import BillingSummaryClient, build_tools
from agentbus_chat.conversations import handlers as conversation_handlers
from agentbus_chat.conversations.service import ConversationService
from agentbus_chat.deprovision import handlers as deprovision_handlers
from agentbus_chat.deprovision.service import tenant_data_deletion
from agentbus_chat.llm.backends import ModelBackend, build_backend
from agentbus_chat.manifest import MANIFEST
from agentbus_chat.models import outbox
from agentbus_chat.runs import handlers as run_handlers
from agentbus_chat.runs.quota import QuotaGate
from agentbus_chat.runs.registry import LiveRuns
from agentbus_chat.runs.reservations import RunReservations
from agentbus_chat.runs.service import ChatService
from agentbus_chat.settings import ChatSettings
from agentbus_shared.contracts.billing import BillingSummary
from agentbus_shared.contracts.billing import Operation as Billing
from agentbus_shared.contracts.common import Principal
from agentbus_shared.db import Database, OutboxRelay
from agentbus_shared.db.tenant_deletion import TenantDataDeletion
from agentbus_shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class ChatParts:
    """Every part of the service, built once per process; handlers, tools and tests use them."""

    settings: ChatSettings
    db: Database
    catalog: AgentCatalog
    backend: ModelBackend
    conversations: ConversationService
    quota: QuotaGate
    reservations: RunReservations
    live: LiveRuns
    chat: ChatService
    deprovisioning: TenantDataDeletion


def build(
    settings: ChatSettings | None = None,
    *,
    configure_process: bool = True,
    agents: Sequence[AgentSpec] = DEFAULT_AGENTS,
    backend: ModelBackend | None = None,
) -> ServiceRuntime:
    """The chat service process: ``build().run()`` serves it; ``runtime.parts_as(ChatParts)`` its
    parts. ``agents`` and ``backend`` replace the shipped team and the configured model."""
    settings = settings or ChatSettings()
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=configure_process)
    set_tracing_disabled(not settings.tracing)
    parts = assemble(runtime, settings, agents=agents, backend=backend)
    runtime.attach(parts)
    for feature in (agent_handlers, conversation_handlers, run_handlers, deprovision_handlers):
        feature.register(runtime, parts)
    runtime.background("outbox-relay", OutboxRelay(parts.db, outbox.table, runtime.publisher).run)
    runtime.background("run-leases", parts.live.keep_leases)
    runtime.on_shutdown(parts.backend.aclose)
    return runtime


def assemble(
    runtime: ServiceRuntime,
    settings: ChatSettings,
    *,
    agents: Sequence[AgentSpec] = DEFAULT_AGENTS,
    backend: ModelBackend | None = None,
) -> ChatParts:
    """Every part of the service, wired to this runtime's connections."""
    db = runtime.database

    def connection() -> NatsClient:
        return runtime.broker.connection

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    conversations = ConversationService(db)
    catalog = AgentCatalog(
        agents,
        build_tools(search=conversations.search_for_tool, billing=_billing_summary(runtime)),
    )
    backend = backend or build_backend(settings, catalog.agents)
    reservations = RunReservations(
        runtime.redis_client,
        per_user=settings.tuning.max_runs_per_user,
        per_tenant=settings.tuning.max_runs_per_tenant,
        lease_seconds=settings.tuning.lease_seconds,
    )
    live = LiveRuns(
        connection,
        db,
        reservations,
        lease_seconds=settings.tuning.lease_seconds,
        shutdown_grace=settings.tuning.shutdown_grace,
    )
    quota = QuotaGate(
        jetstream,
        runtime.rpc,
        ttl=settings.tuning.entitlements_ttl,
        stale_ttl=settings.tuning.entitlements_stale_ttl,
        fail_open=settings.quota_fail_open,
    )
    chat = ChatService(
        settings=settings,
        db=db,
        team=build_team(catalog, default_model=backend.default_model),
        backend=backend,
        quota=quota,
        reservations=reservations,
        live=live,
        connection=connection,
        instance=runtime.instance,
        features_to_pick=catalog.features_to_pick(),
    )
    return ChatParts(
        settings=settings,
        db=db,
        catalog=catalog,
        backend=backend,
        conversations=conversations,
        quota=quota,
        reservations=reservations,
        live=live,
        chat=chat,
        deprovisioning=tenant_data_deletion(db),
    )


def _billing_summary(runtime: ServiceRuntime) -> BillingSummaryClient:
    """The ``billing_summary`` tool's call: billing's summary, asked as the run's caller."""

    async def billing_summary(principal: Principal) -> BillingSummary:
        summary: BillingSummary = await runtime.rpc.request(
            "billing", Billing.SUMMARY_GET, {}, BillingSummary, principal=principal
        )
        return summary

    return billing_summary
