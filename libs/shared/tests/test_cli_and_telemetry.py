"""The operator CLI and trace propagation over NATS."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from faststream.nats import NatsBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typer.testing import CliRunner

from agentbus_shared import cli
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.settings import ServiceSettings
from agentbus_shared.telemetry import setup_tracing

runner = CliRunner()


def test_replicas_without_the_clustered_bus_is_refused() -> None:
    result = runner.invoke(cli.app, ["dev", "--replicas", "2"])
    assert result.exit_code == 2
    assert "--cluster" in result.output


def test_services_lists_every_installed_service() -> None:
    result = runner.invoke(cli.app, ["services"])
    assert result.exit_code == 0
    for name in ("auth", "billing", "chat", "gateway"):
        assert name in result.output


def test_streams_apply_creates_then_leaves_streams_alone(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", nats_url)
    first = runner.invoke(cli.app, ["streams", "apply"])
    assert first.exit_code == 0, first.output
    assert all(f"{s.name}: created" in first.output for s in STREAMS)
    second = runner.invoke(cli.app, ["streams", "apply"])
    assert all(f"{s.name}: unchanged" in second.output for s in STREAMS)


def test_migrate_applies_every_schema(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    result = runner.invoke(cli.app, ["migrate"])
    assert result.exit_code == 0, result.output

    async def schemas() -> set[str]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            return {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
        finally:
            await conn.close()

    assert {"auth", "chat", "billing"} <= asyncio.run(schemas())


def test_migrate_refuses_an_unknown_service(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(cli.app, ["migrate", "nosuchservice"])
    assert result.exit_code != 0
    assert "nosuchservice" in result.output


def test_tracing_stays_off_without_an_endpoint() -> None:
    assert setup_tracing("demo", endpoint=None, sample_ratio=1.0) is False


async def test_trace_context_crosses_the_bus(nats_url: str, broker: NatsBroker) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    # The raw global (None when unset): restoring the proxy itself would make it recurse.
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = provider  # the global can be set once per process; tests swap it
    try:
        runtime = ServiceRuntime(
            "demo", ServiceSettings(nats_url=nats_url, environment="test"), configure_process=False
        )
        async with runtime.lifespan():
            with tracer.start_as_current_span("client request") as parent:
                await RpcClient(broker).call("demo", "ping")
            # The service ends its span after publishing the reply: it may end a moment later.
            for _ in range(200):
                finished = exporter.get_finished_spans()
                if any(s.kind == trace.SpanKind.SERVER for s in finished):
                    break
                await asyncio.sleep(0.01)
        server = next(s for s in finished if s.kind == trace.SpanKind.SERVER)
        client = next(s for s in finished if s.kind == trace.SpanKind.CLIENT)
        assert server.name == client.name == "rpc demo.ping"
        assert client.context.trace_id == parent.get_span_context().trace_id
        assert server.context.trace_id == parent.get_span_context().trace_id
        assert server.parent is not None
        assert server.parent.span_id == client.context.span_id
    finally:
        trace._TRACER_PROVIDER = previous  # type: ignore[assignment]
