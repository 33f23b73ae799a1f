"""Helpers of the chat tests: the service on real NATS and PostgreSQL, a stand-in billing on the bus.

Billing is another service; here it is a responder on the real bus that
answers ``summary.get`` and ``entitlements.get`` the way billing does (the
same subjects, envelopes and contracts) and remembers who asked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from sqlalchemy import Row

from agentbus_chat.app import build
from agentbus_chat.llm.backends import ModelBackend
from agentbus_chat.settings import ChatSettings
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.billing import (
    BillingSummary,
    Entitlements,
    MeterUsage,
    PlanLimits,
    SubscriptionView,
    UsageView,
)
from agentbus_shared.contracts.chat import SearchHit, StreamFrame
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.errors import AgentbusError
from agentbus_shared.ids import new_id
from agentbus_shared.runtime import ServiceRuntime

CHAT_SCOPES = frozenset(
    {
        Scope.CONVERSATIONS_READ,
        Scope.CONVERSATIONS_WRITE,
        Scope.CONVERSATIONS_DELETE,
        Scope.BILLING_READ,
    }
)
"""What a member holds (auth's roles): the billing agent's tool reads with ``billing:read``."""


def principal(
    tenant: str = "t_alpha", user: str = "u_ada", scopes: frozenset[str] = CHAT_SCOPES
) -> Principal:
    return Principal(subject=user, tenant_id=tenant, scopes=scopes, roles=("member",))


PRO_FEATURES = ("chat", "tools", "service_accounts", "research_agent", "priority_support")
"""The shipped pro plan's features (with the research agent triage may hand off to)."""


def entitlements(
    tenant: str,
    *,
    messages: int | None = 100,
    used_messages: int = 0,
    plan: str = "pro",
    features: tuple[str, ...] = PRO_FEATURES,
) -> Entitlements:
    """``tenant``'s entitlements in a billing period that began yesterday (the same period on
    every call, as billing's are), with ``features``."""
    now = datetime.now(UTC)
    period_start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return Entitlements(
        tenant_id=tenant,
        plan=plan,
        status="active",
        limits=PlanLimits(messages=messages, tokens=None),
        used={"messages": used_messages},
        period_start=period_start,
        period_end=period_start + timedelta(days=30),
        features=list(features),
        updated_at=now,
    )


@dataclass
class FakeBilling:
    """Billing's RPC operations on the real bus, answering from ``plans`` and recording callers."""

    plans: dict[str, Entitlements] = field(default_factory=dict)
    calls: list[tuple[str, Principal | None, dict[str, Any]]] = field(default_factory=list)
    unreachable: bool = False
    """Answer like a billing whose dependencies are down (503)."""

    def calls_of(self, operation: str) -> list[tuple[str, Principal | None, dict[str, Any]]]:
        return [c for c in self.calls if c[0] == operation]

    async def handle(self, msg: Msg) -> None:
        operation = msg.subject.removeprefix("rpc.billing.v1.")
        raw_principal = (msg.headers or {}).get("Ab-Principal")
        caller = Principal.model_validate_json(raw_principal) if raw_principal else None
        body = json.loads(msg.data or b"{}")
        self.calls.append((operation, caller, body))
        await msg.respond(json.dumps(self.answer(operation, caller, body)).encode())

    def answer(
        self, operation: str, caller: Principal | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        if caller is None:
            return {"error": {"code": "unauthorized", "message": "no principal", "status": 401}}
        if self.unreachable:
            return {"error": {"code": "service_unavailable", "message": "down", "status": 503}}
        if operation == "entitlements.get":
            found = self.plans.get(body["tenant_id"])
            if found is None:
                return {"error": {"code": "not_found", "message": "no plan", "status": 404}}
            return {"data": found.model_dump(mode="json")}
        if operation == "summary.get":
            if not caller.has(Scope.BILLING_READ):
                return {
                    "error": {
                        "code": "forbidden",
                        "message": "Missing scope: billing:read",
                        "status": 403,
                        "details": {"missing_scopes": [Scope.BILLING_READ]},
                    }
                }
            plan = self.plans.get(caller.tenant_id) or entitlements(caller.tenant_id)
            summary = BillingSummary(
                subscription=SubscriptionView(
                    plan=plan.plan, status="active", current_period_end=plan.period_end
                ),
                usage=UsageView(
                    plan=plan.plan,
                    period_start=plan.period_start,
                    period_end=plan.period_end,
                    meters=[
                        MeterUsage(
                            meter="messages",
                            used=plan.used.get("messages", 0),
                            limit=plan.limits.messages,
                        )
                    ],
                ),
            )
            return {"data": summary.model_dump(mode="json")}
        return {"error": {"code": "not_found", "message": "unknown operation", "status": 404}}


async def put_entitlements(broker: NatsBroker, value: Entitlements) -> None:
    """Write a tenant's entitlements to the KV bucket the way billing does."""
    js = broker.connection.jetstream()
    try:
        kv = await js.key_value(ENTITLEMENTS.name)
    except Exception:
        kv = await js.create_key_value(ENTITLEMENTS.config())
    await kv.put(value.tenant_id, value.model_dump_json().encode())


async def no_search(**_: object) -> list[SearchHit]:
    """The conversation search of a tool set whose searches do not matter."""
    return []


async def no_billing(_: Principal) -> BillingSummary:
    """The billing summary of a tool set whose billing calls must not happen."""
    raise AssertionError("unused")


class Sql(Protocol):
    """Runs a statement against the test's database (to look behind the service)."""

    async def __call__(self, statement: str, **params: object) -> list[Row[Any]]: ...


@asynccontextmanager
async def running(
    settings: ChatSettings, backend: ModelBackend | None = None
) -> AsyncIterator[ServiceRuntime]:
    runtime = build(settings, configure_process=False, backend=backend)
    async with runtime.lifespan():
        yield runtime


@dataclass
class Stream:
    stream_id: str
    frames: list[StreamFrame]
    started: dict[str, Any] | None = None

    def of(self, event: str) -> list[StreamFrame]:
        return [f for f in self.frames if f.event == event]

    @property
    def terminal(self) -> StreamFrame:
        ends = [f for f in self.frames if f.terminal]
        assert len(ends) == 1, f"expected one terminal frame, got {[f.event for f in self.frames]}"
        return ends[0]

    @property
    def text(self) -> str:
        return "".join(f.data["text"] for f in self.of("delta"))


class ChatClient:
    """Calls chat over the bus as the gateway does, for one principal."""

    def __init__(self, broker: NatsBroker, caller: Principal) -> None:
        self.broker = broker
        self.caller = caller
        self.rpc = RpcClient(broker, timeout=30)

    async def call(self, operation: str, payload: dict[str, Any] | None = None) -> Any:
        reply = await self.rpc.call("chat", operation, payload or {}, principal=self.caller)
        return reply.data

    async def chat(self, message: str, **extra: Any) -> dict[str, Any]:
        return await self.call("chat", {"message": message, **extra})  # type: ignore[no-any-return]

    async def open_stream(
        self, message: str, **extra: Any
    ) -> tuple[Stream, asyncio.Queue[StreamFrame], Callable[[], Any]]:
        """Subscribe then start, as the gateway does; frames arrive on the returned queue."""
        stream_id = new_id("s")
        queue: asyncio.Queue[StreamFrame] = asyncio.Queue()
        stream = Stream(stream_id, [])

        async def on_frame(msg: Msg) -> None:
            frame = StreamFrame.model_validate_json(msg.data)
            stream.frames.append(frame)
            await queue.put(frame)

        sub = await self.broker.connection.subscribe(subjects.chat_stream(stream_id), cb=on_frame)
        stream.started = await self.call(
            "stream.start", {"message": message, "stream_id": stream_id, **extra}
        )
        return stream, queue, sub.unsubscribe

    async def stream(self, message: str, timeout: float = 30, **extra: Any) -> Stream:
        stream, queue, unsubscribe = await self.open_stream(message, **extra)
        try:
            await next_frame(queue, is_terminal, timeout=timeout)
        finally:
            await unsubscribe()
        return stream

    async def error_of(self, operation: str, payload: dict[str, Any]) -> AgentbusError:
        with pytest.raises(AgentbusError) as caught:
            await self.call(operation, payload)
        return caught.value


async def next_frame(
    queue: asyncio.Queue[StreamFrame],
    wanted: Callable[[StreamFrame], bool],
    *,
    timeout: float = 15,
) -> StreamFrame:
    """The next ``wanted`` frame of a stream; the frames before it are read and dropped."""
    async with asyncio.timeout(timeout):
        while not wanted(frame := await queue.get()):
            pass
    return frame


def is_delta(frame: StreamFrame) -> bool:
    return frame.event == "delta"


def is_terminal(frame: StreamFrame) -> bool:
    return frame.terminal
