"""The consumer of ``tenant.deprovision_requested``: chat deletes its part of the tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import DurableConsumer, RetryPolicy
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_chat.app import ChatParts

DEPROVISION_CONSUMER = DurableConsumer(
    service="chat",
    name="chat-tenant-deprovision",
    stream=AUTH_EVENTS,
    subject=TenantDeprovisionRequested.filter_subject(),
    retry=RetryPolicy(max_deliver=10),
    max_workers=1,
)


def register(runtime: ServiceRuntime, parts: ChatParts) -> None:
    @runtime.consumer(DEPROVISION_CONSUMER)
    async def on_deprovision_requested(event: CloudEvent[TenantDeprovisionRequested]) -> None:
        await parts.deprovisioning.delete(event, consumer=DEPROVISION_CONSUMER.name)
