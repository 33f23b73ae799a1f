"""Helpers of the activity tests (imported by the tests and conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faststream.nats import NatsBroker

from agentbus_activity.app import ActivityParts, build
from agentbus_activity.settings import ActivitySettings
from agentbus_shared.bus import EventPublisher, RpcClient
from agentbus_shared.contracts.activity import Operation
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.events import EventData, make_event
from agentbus_shared.runtime import ServiceRuntime

TENANT = "t_acme"
OTHER_TENANT = "t_other"
OWNER = "usr_olga"
MEMBER = "usr_max"
OTHER_MEMBER = "usr_mia"


def make_settings(**tuning: Any) -> ActivitySettings:
    quick: dict[str, Any] = {"replay_idle_expiry": 1.0, "rebuild_batch": 50}
    return ActivitySettings().tuned(**(quick | tuning))


def principal(user: str = MEMBER, *, tenant: str = TENANT, role: str = "member") -> Principal:
    return Principal(
        subject=user, tenant_id=tenant, roles=(role,), scopes=frozenset({Scope.TENANT_READ})
    )


@asynccontextmanager
async def running(settings: ActivitySettings) -> AsyncIterator[ServiceRuntime]:
    runtime = build(settings, configure_process=False)
    async with runtime.lifespan():
        yield runtime


@dataclass
class RunningActivity:
    runtime: ServiceRuntime
    broker: NatsBroker
    publisher: EventPublisher

    @property
    def parts(self) -> ActivityParts:
        return self.runtime.parts_as(ActivityParts)

    def feed_of(self, caller: Principal) -> FeedClient:
        return FeedClient(RpcClient(self.broker, timeout=15), caller)

    async def publish(
        self,
        data: EventData,
        *,
        tenant: str = TENANT,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> str:
        """Publish ``data`` as its service would; the event id."""
        event = make_event(data, tenant_id=tenant, event_id=event_id, time=time)
        await self.publisher.publish(event)
        return event.id

    async def publish_again(self, data: EventData, *, event_id: str, time: datetime) -> None:
        """The same event stored a second time (as a crash between publish and outbox mark does)."""
        event = make_event(data, tenant_id=TENANT, event_id=event_id, time=time)
        await self.publisher.publish_raw(
            event.nats_subject, event.to_bytes(), msg_id=f"{event_id}-again"
        )


class FeedClient:
    """Calls the activity service over the bus as the gateway does, for one viewer."""

    def __init__(self, rpc: RpcClient, caller: Principal) -> None:
        self.rpc = rpc
        self.caller = caller

    async def call(self, operation: str, payload: dict[str, Any] | None = None) -> Any:
        reply = await self.rpc.call("activity", operation, payload or {}, principal=self.caller)
        return reply.data

    async def items(self, **query: Any) -> list[dict[str, Any]]:
        """Every item of the viewer's feed (following the cursors), newest first."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.call(Operation.FEED_LIST, {**query, "cursor": cursor})
            found += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    async def summaries(self, **query: Any) -> list[str]:
        return [item["summary"] for item in await self.items(**query)]

    async def unread(self) -> int:
        return int((await self.call(Operation.UNREAD_COUNT))["unread"])
