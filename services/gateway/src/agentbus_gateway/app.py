"""The gateway's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from agentbus_gateway.settings import GatewaySettings
from agentbus_shared.bus import RpcClient, make_broker
from agentbus_shared.logging import configure_logging
from agentbus_shared.runtime import ReadinessCheck, check_readiness, ops_routes
from agentbus_shared.telemetry import setup_tracing


def create_app(
    settings: GatewaySettings | None = None, *, configure_process: bool = True
) -> FastAPI:
    settings = settings or GatewaySettings()
    if configure_process:
        configure_logging("gateway", level=settings.log_level, fmt=settings.log_format)
        setup_tracing(
            "gateway", endpoint=settings.otel_endpoint, sample_ratio=settings.otel_sample_ratio
        )
    broker = make_broker(settings, name="gateway")
    rpc = RpcClient(broker, timeout=settings.rpc_timeout)
    redis = aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(), socket_timeout=2.0, socket_connect_timeout=2.0
    )

    async def nats_ready() -> bool:
        connection = broker._connection
        if connection is None or not connection.is_connected:
            return False
        await connection.flush(timeout=1)
        return True

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    def service_ready(service: str) -> ReadinessCheck:
        async def check() -> bool:
            reply = await rpc.call(service, "ping", timeout=settings.ping_timeout)
            return bool(reply.data.get("ok"))

        return check

    checks: dict[str, ReadinessCheck] = {"nats": nats_ready, "redis": redis_ready}
    checks.update({service: service_ready(service) for service in settings.services})

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await broker.connect()
        try:
            yield
        finally:
            await broker.stop()
            await redis.aclose()

    app = FastAPI(title="Agentbus", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = broker
    app.state.rpc = rpc
    app.state.redis = redis

    async def readiness() -> tuple[bool, dict[str, str]]:
        return await check_readiness(checks, timeout=settings.ping_timeout + 1)

    app.router.routes.extend(ops_routes(readiness))
    return app


def run(settings: GatewaySettings | None = None) -> None:
    import uvicorn

    settings = settings or GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


__all__ = ["create_app", "run"]
