"""RPC over a real nats-server: every call gets an answer, never a timeout by accident."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel

from agentbus_shared.bus import CallerPrincipal, Meta, Reply, RpcClient
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.errors import (
    AgentbusError,
    Conflict,
    GatewayTimeout,
    ServiceUnavailable,
)
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.settings import ServiceSettings


class Greeting(BaseModel):
    name: str


class NameTaken(Conflict):
    code = "name_taken"


@pytest.fixture
async def runtime(nats_url: str) -> AsyncIterator[ServiceRuntime]:
    settings = ServiceSettings(nats_url=nats_url, environment="test")
    service = ServiceRuntime("demo", settings, configure_process=False)
    ops = service.rpc_router

    @ops.operation("greet")
    async def greet(cmd: Greeting, principal: CallerPrincipal, meta: Meta) -> dict[str, str]:
        return {"hello": cmd.name, "tenant": principal.tenant_id, "request": meta.request_id or ""}

    @ops.operation("create")
    async def create(cmd: Greeting) -> Reply[dict[str, str]]:
        if cmd.name == "taken":
            raise NameTaken("That name is taken.", details={"name": cmd.name})
        return Reply({"created": cmd.name}, status=201)

    @ops.operation("crash")
    async def crash() -> None:
        raise RuntimeError("secret internal detail")

    @ops.operation("database_down")
    async def database_down() -> None:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        except ConnectionRefusedError as exc:
            raise RuntimeError("while loading the tenant") from exc

    @ops.operation("manage", scopes={"billing:manage", "billing:read"}, user_only=True)
    async def manage(principal: CallerPrincipal) -> dict[str, str]:
        return {"by": principal.subject}

    @ops.operation("slow")
    async def slow() -> None:
        await asyncio.sleep(5)

    async with service.lifespan():
        yield service


def principal() -> Principal:
    return Principal(subject="u_1", tenant_id="t_1", scopes=frozenset({"conversations:read"}))


async def test_operation_receives_principal_and_request_metadata(runtime: ServiceRuntime) -> None:
    client = RpcClient(runtime.broker)
    reply = await client.call(
        "demo",
        "greet",
        Greeting(name="ada"),
        principal=principal(),
        meta=RequestMeta(request_id="r-1"),
    )
    assert reply.data == {"hello": "ada", "tenant": "t_1", "request": "r-1"}


async def test_operation_without_principal_answers_unauthorized(runtime: ServiceRuntime) -> None:
    with pytest.raises(AgentbusError) as caught:
        await RpcClient(runtime.broker).call("demo", "greet", {"name": "ada"})
    assert caught.value.status == 401


def caller(*scopes: str, kind: str = "user") -> Principal:
    return Principal.model_validate(
        {"kind": kind, "subject": "u_1", "tenant_id": "t_1", "scopes": frozenset(scopes)}
    )


async def test_declared_scopes_are_checked_before_the_handler_runs(
    runtime: ServiceRuntime,
) -> None:
    client = RpcClient(runtime.broker)
    with pytest.raises(AgentbusError) as caught:
        await client.call("demo", "manage", principal=caller("billing:read"))
    assert (caught.value.status, caught.value.details) == (
        403,
        {"missing_scopes": ["billing:manage"]},
    )
    with pytest.raises(AgentbusError) as anonymous:
        await client.call("demo", "manage")
    assert anonymous.value.status == 401
    reply = await client.call("demo", "manage", principal=caller("billing:manage", "billing:read"))
    assert reply.data == {"by": "u_1"}


async def test_a_users_only_operation_refuses_a_service_account(runtime: ServiceRuntime) -> None:
    robot = caller("billing:manage", "billing:read", kind="service_account")
    with pytest.raises(AgentbusError) as caught:
        await RpcClient(runtime.broker).call("demo", "manage", principal=robot)
    assert caught.value.status == 403
    assert runtime.rpc_router.access["manage"].user_only


async def test_domain_error_comes_back_as_its_envelope(runtime: ServiceRuntime) -> None:
    with pytest.raises(AgentbusError) as caught:
        await RpcClient(runtime.broker).call("demo", "create", {"name": "taken"})
    assert (caught.value.code, caught.value.status) == ("name_taken", 409)
    assert caught.value.details == {"name": "taken"}


async def test_reply_can_carry_a_status(runtime: ServiceRuntime) -> None:
    reply = await RpcClient(runtime.broker).call("demo", "create", {"name": "new"})
    assert (reply.data, reply.status) == ({"created": "new"}, 201)


async def test_handler_that_raises_answers_with_an_error_not_a_timeout(
    runtime: ServiceRuntime,
) -> None:
    started = time.perf_counter()
    with pytest.raises(AgentbusError) as caught:
        await RpcClient(runtime.broker, timeout=3).call("demo", "crash")
    assert time.perf_counter() - started < 1.0
    assert (caught.value.code, caught.value.status) == ("internal_error", 500)
    assert "secret" not in caught.value.message


async def test_handler_whose_database_is_away_answers_503_dependency_unavailable(
    runtime: ServiceRuntime,
) -> None:
    with pytest.raises(AgentbusError) as caught:
        await RpcClient(runtime.broker, timeout=3).call("demo", "database_down")
    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("dependency_unavailable", 503, 2)
    assert "5432" not in error.message


@pytest.mark.parametrize(
    "payload",
    [{"nope": 1}, {"name": 42}, b"not json at all", b"\xff\xfe", b"[1, 2, 3]"],
)
async def test_malformed_payload_answers_validation_error(
    runtime: ServiceRuntime, payload: object
) -> None:
    raw = await runtime.broker.connection.request("rpc.demo.v1.create", _raw(payload), timeout=2)
    body = raw.data.decode()
    assert '"status":422' in body.replace(" ", "")
    assert "validation_failed" in body


async def test_no_responders_is_service_unavailable_at_once(runtime: ServiceRuntime) -> None:
    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable) as caught:
        await RpcClient(runtime.broker, timeout=3).call("nobody", "there")
    assert time.perf_counter() - started < 0.5
    assert caught.value.retry_after == 1


async def test_slow_service_is_gateway_timeout(runtime: ServiceRuntime) -> None:
    with pytest.raises(GatewayTimeout) as caught:
        await RpcClient(runtime.broker).call("demo", "slow", timeout=0.3)
    assert caught.value.status == 504


async def test_ping_reports_readiness(runtime: ServiceRuntime) -> None:
    reply = await RpcClient(runtime.broker).call("demo", "ping")
    assert reply.data["service"] == "demo"
    assert reply.data["ok"] is True


async def test_concurrent_requests_are_served_in_parallel(runtime: ServiceRuntime) -> None:
    client = RpcClient(runtime.broker)

    @runtime.rpc_router.operation("never-registered-late")
    async def _unused() -> None:  # registered after start: must not break the running ones
        return None

    replies = await asyncio.gather(
        *(client.call("demo", "create", {"name": f"n{i}"}) for i in range(50))
    )
    assert {r.data["created"] for r in replies} == {f"n{i}" for i in range(50)}


def _raw(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    import json

    return json.dumps(payload).encode()


async def test_operations_resolve_the_caller_without_a_worker_thread(
    runtime: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Principal and metadata dependencies run on the event loop: a thread hand-off per message
    was a quarter of a service's CPU per call."""
    import fast_depends.utils

    async def no_threads(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"ran in a worker thread: {_args}")

    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", no_threads)
    reply = await RpcClient(runtime.broker).call(
        "demo", "greet", Greeting(name="ada"), principal=principal(), meta=RequestMeta()
    )
    assert reply.data["hello"] == "ada"
