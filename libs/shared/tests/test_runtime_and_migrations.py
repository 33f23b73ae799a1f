"""The service runtime (readiness through outages) and per-schema migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from agentbus_shared import manifest, migrations
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.servers import PostgresServer
from agentbus_shared.settings import ServiceSettings
from agentbus_shared.testing.waiting import eventually


async def test_every_service_migrates_only_its_own_schema(empty_database_url: str) -> None:
    services = manifest.with_schema()
    assert {s.name for s in services} >= {"auth", "chat", "billing"}
    for service in services:
        await migrations.upgrade_async(service, empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        by_schema: dict[str, set[str]] = {}
        for row in rows:
            by_schema.setdefault(row["table_schema"], set()).add(row["table_name"])
        assert set(by_schema) == {s.schema for s in services}  # nothing in public
        for service in services:
            assert {"alembic_version", "outbox", "processed_events"} <= by_schema[
                service.schema or ""
            ]
        # Running them again changes nothing.
        for service in services:
            await migrations.upgrade_async(service, empty_database_url)
    finally:
        await conn.close()


@pytest.fixture
async def runtime_with_db(
    nats_url: str, database_url: str, redis_url: str
) -> AsyncIterator[ServiceRuntime]:
    settings = ServiceSettings(
        nats_url=nats_url, database_url=database_url, redis_url=redis_url, environment="test"
    )
    runtime = ServiceRuntime(
        "demo", settings, schema="demo", use_redis=True, configure_process=False
    )
    async with runtime.lifespan():
        yield runtime


async def get(runtime: ServiceRuntime, path: str) -> httpx.Response:
    app = runtime.asgi()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as c:
        return await c.get(path)


async def test_ops_endpoints_report_health_readiness_and_metrics(
    runtime_with_db: ServiceRuntime,
) -> None:
    assert (await get(runtime_with_db, "/health")).json() == {"status": "ok"}
    ready = await get(runtime_with_db, "/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": "ok", "database": "ok", "redis": "ok"}
    metrics = await get(runtime_with_db, "/metrics")
    assert "agentbus_rpc_handled_total" in metrics.text


async def test_readiness_reports_an_unreachable_dependency(nats_url: str, redis_url: str) -> None:
    settings = ServiceSettings(
        nats_url=nats_url,
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        redis_url=redis_url,
        environment="test",
    )
    runtime = ServiceRuntime("demo", settings, schema="demo", configure_process=False)
    async with runtime.lifespan():
        ready = await get(runtime, "/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"nats": "ok", "database": "unavailable"},
    }


async def test_readiness_recovers_after_postgres_comes_back(
    tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    server = PostgresServer(tmp_path_factory.mktemp("pg") / "data", persistent=False).start()
    try:
        url = server.ensure_database()
        settings = ServiceSettings(nats_url=nats_url, database_url=url, environment="test")
        runtime = ServiceRuntime("demo", settings, schema="demo", configure_process=False)
        async with runtime.lifespan():
            assert await runtime.ready_cached(max_age=0)
            server.stop()
            assert not await runtime.ready_cached(max_age=0)
            await asyncio.to_thread(server.start)
            # Same process, no restart: ready again once a probe gets through (a probe may
            # overrun its 2 s while the whole suite loads the machine, so allow a few).
            await eventually(
                lambda: runtime.ready_cached(max_age=0),
                what="ready again",
                timeout=20,
                interval=0.2,
            )
    finally:
        server.stop()


async def test_background_task_is_restarted_after_a_crash(nats_url: str) -> None:
    runtime = ServiceRuntime(
        "demo", ServiceSettings(nats_url=nats_url, environment="test"), configure_process=False
    )
    runs: list[int] = []
    settled = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 2:
            raise RuntimeError("first run fails")
        settled.set()
        await asyncio.Event().wait()

    runtime.background("flaky", flaky)
    async with runtime.lifespan():
        await asyncio.wait_for(settled.wait(), 5)
    assert len(runs) == 2


def test_a_runtime_is_built_from_its_manifest_and_keeps_its_parts() -> None:
    declared = manifest.ServiceManifest(
        name="ledger", module="ledger", default_port=8199, schema="ledger", needs_redis=True
    )
    runtime = ServiceRuntime.for_service(
        declared, ServiceSettings(environment="test"), configure_process=False
    )
    assert (runtime.database.schema, runtime.redis_client) == ("ledger", runtime.redis)
    assert set(runtime.readiness) == {"nats", "database", "redis"}

    runtime.attach(declared)
    assert runtime.parts_as(manifest.ServiceManifest) is declared
    with pytest.raises(TypeError):
        runtime.parts_as(ServiceSettings)

    bare = ServiceRuntime("probe", ServiceSettings(environment="test"), configure_process=False)
    with pytest.raises(RuntimeError):
        bare.database  # noqa: B018
    with pytest.raises(RuntimeError):
        bare.redis_client  # noqa: B018
