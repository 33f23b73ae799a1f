"""The process around a service: connections, start-up order, background tasks, ops endpoints.

A service's ``__main__`` builds a :class:`ServiceRuntime`, registers its RPC
operations on ``runtime.rpc_router``, its durable consumers with
``runtime.consumer(...)``, its background loops with ``runtime.background``,
then calls ``runtime.run()``. The runtime serves ``/health`` (alive),
``/health/ready`` (NATS, database and Redis reachable) and ``/metrics`` over
HTTP, and answers ``rpc.<service>.v1.ping`` on the bus. A process whose HTTP
port faces the public (the gateway) serves ``/metrics`` on an
:class:`InternalListener` of its own instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis
import uvicorn
from faststream.nats import NatsBroker, NatsRouter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from agentbus_shared.bus.broker import make_broker
from agentbus_shared.bus.consumers import DurableConsumer
from agentbus_shared.bus.events import EventPublisher
from agentbus_shared.bus.rpc import RpcClient, RpcRouter
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.cancellation import raise_if_cancelled
from agentbus_shared.contracts.common import Ping
from agentbus_shared.contracts.streams import buckets_owned_by, streams_owned_by
from agentbus_shared.db.database import Database
from agentbus_shared.logging import configure_logging, get_logger
from agentbus_shared.metrics import render_latest
from agentbus_shared.settings import ServiceSettings
from agentbus_shared.telemetry import setup_tracing

if TYPE_CHECKING:
    from agentbus_shared.manifest import ServiceManifest

P = TypeVar("P")

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


async def check_readiness(
    checks: Mapping[str, ReadinessCheck], *, timeout: float = 2.0
) -> tuple[bool, dict[str, str]]:
    """Run every check concurrently; a check that raises or overruns counts as down."""

    async def one(check: ReadinessCheck) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return await check()
        except Exception:
            return False

    names = list(checks)
    results = await asyncio.gather(*(one(checks[n]) for n in names))
    report = {
        name: ("ok" if ok else "unavailable") for name, ok in zip(names, results, strict=True)
    }
    return all(results), report


def ops_routes(readiness: Callable[[], Awaitable[tuple[bool, dict[str, str]]]]) -> list[BaseRoute]:
    """``/health``, ``/health/ready`` and ``/metrics``, shared by every process (gateway included)."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        ok, report = await readiness()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": report},
            status_code=200 if ok else 503,
        )

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        metrics_route(),
    ]


def metrics_route() -> Route:
    """``/metrics``: this process's Prometheus metrics, the same on every listener that has it."""

    async def metrics(_: Request) -> Response:
        body, content_type = render_latest()
        return Response(body, media_type=content_type)

    return Route("/metrics", metrics, methods=["GET"])


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside a process that already has one: signals stay with the main one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class InternalListener:
    """A second HTTP listener of the process, for what only the cluster may reach (Prometheus
    scraping the gateway's ``/metrics``): bound at start-up, closed at shutdown.

    ``start`` raises ``OSError`` when the port cannot be bound. ``port`` is the bound port
    (the one picked when asked for 0).
    """

    def __init__(self, routes: list[BaseRoute], *, host: str, port: int) -> None:
        self._host = host
        self._wanted_port = port
        config = uvicorn.Config(
            Starlette(routes=routes), log_config=None, access_log=False, lifespan="off"
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._wanted_port))
            # Listening now: connections wait in the backlog until the server takes them.
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="internal-http")
        log.info("internal_listener.started", host=self._host, port=self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None


class ServiceRuntime:
    """Connections and lifecycle of one service process."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        schema: str | None = None,
        use_redis: bool = False,
        configure_process: bool = True,
    ) -> None:
        if configure_process:
            configure_logging(name, level=settings.log_level, fmt=settings.log_format)
            setup_tracing(
                name, endpoint=settings.otel_endpoint, sample_ratio=settings.otel_sample_ratio
            )
        self.name = name
        self.settings = settings
        self.instance = settings.service_instance or f"{socket.gethostname()}-{os.getpid()}"
        self.broker: NatsBroker = make_broker(settings, name=name)
        self.publisher = EventPublisher(self.broker)
        self.rpc = RpcClient(self.broker, timeout=settings.tuning.rpc_timeout)
        self.rpc_router = RpcRouter(name)
        self.db: Database | None = None
        self.redis: aioredis.Redis | None = None
        self.readiness: dict[str, ReadinessCheck] = {"nats": self._nats_ready}
        if schema:
            self.db = Database(
                settings.database_url.get_secret_value(),
                schema=schema,
                application_name=f"agentbus-{name}",
                pool_size=settings.tuning.database_pool_size,
            )
            self.readiness["database"] = self.db.ping
        if use_redis:
            self.redis = aioredis.Redis.from_url(
                settings.redis_url.get_secret_value(),
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                health_check_interval=10,
            )
            self.readiness["redis"] = self._redis_ready
        self.consumers: list[DurableConsumer] = []
        self._routers: list[NatsRouter] = []
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._shutdown: list[Callable[[], Awaitable[None]]] = []
        self._background: dict[str, Callable[[], Awaitable[None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_ready: tuple[float, bool] = (0.0, False)
        self._parts: object = None
        self._register_ping()

    @classmethod
    def for_service(
        cls, manifest: ServiceManifest, settings: ServiceSettings, *, configure_process: bool = True
    ) -> ServiceRuntime:
        """The runtime of the service ``manifest`` declares: its schema, Redis if it needs it."""
        return cls(
            manifest.name,
            settings,
            schema=manifest.schema,
            use_redis=manifest.needs_redis,
            configure_process=configure_process,
        )

    # ---------------------------------------------------------- the service's parts
    @property
    def database(self) -> Database:
        """The service's database (its manifest declares a schema)."""
        if self.db is None:
            raise RuntimeError(f"the {self.name} service has no database")
        return self.db

    @property
    def redis_client(self) -> aioredis.Redis:
        """The service's Redis (its manifest declares ``needs_redis``)."""
        if self.redis is None:
            raise RuntimeError(f"the {self.name} service has no Redis")
        return self.redis

    def attach(self, parts: object) -> None:
        """Keep the service's ``<Name>Parts``, for the tests and tools that drive it directly."""
        self._parts = parts

    def parts_as(self, kind: type[P]) -> P:
        """The parts :meth:`attach` kept, as the service's ``<Name>Parts``."""
        if not isinstance(self._parts, kind):
            raise TypeError(f"the {self.name} service's parts are not {kind.__name__}")
        return self._parts

    # ---------------------------------------------------------- registration
    def include(self, router: NatsRouter) -> None:
        self._routers.append(router)

    def consumer(self, consumer: DurableConsumer) -> Callable[[Callable[..., Any]], Any]:
        """Register a durable consumer; decorate its handler with the result."""
        self.consumers.append(consumer)
        router = consumer.router(lambda: self.publisher, self.ready_cached)
        self._routers.append(router)
        return consumer.subscriber(router)

    @property
    def routers(self) -> tuple[NatsRouter, ...]:
        """Every router of the process (RPC operations first), as ``start`` includes them."""
        return (self.rpc_router.router, *self._routers)

    def on_startup(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        self._shutdown.append(fn)
        return fn

    def serve_internally(self, routes: list[BaseRoute], *, port: int) -> InternalListener:
        """Serve ``routes`` on a second listener (``HTTP_HOST``, ``port``) for the process's life."""
        listener = InternalListener(routes, host=self.settings.http_host, port=port)
        self.on_startup(listener.start)
        self.on_shutdown(listener.stop)
        return listener

    def background(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` for the life of the process; restart it with a back-off if it crashes."""
        self._background[name] = fn

    def _register_ping(self) -> None:
        @self.rpc_router.operation(
            "ping", max_workers=4, description="Liveness of the service on the bus."
        )
        async def ping() -> Ping:
            return Ping(service=self.name, instance=self.instance, ok=await self.ready_cached())

    # ---------------------------------------------------------- lifecycle
    async def start(self) -> None:
        for router in self.routers:
            self.broker.include_router(router)
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        replicas = self.settings.nats_stream_replicas
        await apply_streams(js, streams_owned_by(self.name), replicas=replicas)
        await apply_buckets(js, buckets_owned_by(self.name), replicas=replicas)
        for consumer in self.consumers:
            await _retry_until_ready(
                f"consumer {consumer.name}", functools.partial(consumer.ensure, js)
            )
        for fn in self._startup:
            await fn()
        await self.broker.start()
        await self.broker.connection.flush(timeout=5)
        for name, fn in self._background.items():
            self._tasks.append(asyncio.create_task(_supervise(name, fn), name=name))
        log.info("service.started", instance=self.instance)

    async def stop(self) -> None:
        await _cancel_and_wait(self._tasks)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        for fn in reversed(self._shutdown):
            with contextlib.suppress(Exception):
                await fn()
        if self.db is not None:
            await self.db.dispose()
        if self.redis is not None:
            await self.redis.aclose()
        log.info("service.stopped")

    @asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    # ---------------------------------------------------------- readiness
    async def ready(self) -> tuple[bool, dict[str, str]]:
        return await check_readiness(self.readiness)

    async def ready_cached(self, max_age: float = 2.0) -> bool:
        at, ok = self._last_ready
        if time.monotonic() - at > max_age:
            ok, _ = await self.ready()
            self._last_ready = (time.monotonic(), ok)
        return ok

    async def _nats_ready(self) -> bool:
        connection = self.broker._connection  # None until connected
        if connection is None or not connection.is_connected:
            return False
        await connection.flush(timeout=1)
        return True

    async def _redis_ready(self) -> bool:
        assert self.redis is not None
        return bool(await self.redis.ping())

    # ---------------------------------------------------------- serving
    def asgi(self, extra_routes: list[BaseRoute] | None = None) -> Starlette:
        return Starlette(
            routes=[*ops_routes(self.ready), *(extra_routes or [])], lifespan=self.lifespan
        )

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM; stops the bus and connections cleanly."""
        config = uvicorn.Config(
            self.asgi(),
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        uvicorn.Server(config).run()


async def _cancel_and_wait(tasks: list[asyncio.Task[None]], *, timeout: float = 15.0) -> None:
    """Cancel ``tasks`` and wait until they end, cancelling again while any keeps running.

    Python 3.11's ``asyncio.wait_for`` swallows a cancellation that arrives as its
    awaitable completes (nats-py and our loops use it), so one ``cancel()`` can be lost
    and a background loop would then run on, holding the shutdown forever.
    """
    pending = {task for task in tasks if not task.done()}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in pending:
        log.warning("background.not_stopped", task=task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()


async def _supervise(name: str, fn: Callable[[], Awaitable[None]]) -> None:
    failures = 0
    while True:
        try:
            await fn()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelled()
            failures += 1
            delay = min(30.0, 0.5 * 2**failures)
            log.exception("background.crashed", task=name, restart_in=delay)
            await asyncio.sleep(delay)


async def _retry_until_ready(
    what: str, attempt: Callable[[], Awaitable[Any]], *, deadline: float = 60.0
) -> None:
    """Retry a start-up step whose dependency (another owner's stream) may not exist yet."""
    started = time.monotonic()
    delay = 0.25
    while True:
        try:
            await attempt()
            return
        except Exception as exc:
            if time.monotonic() - started > deadline:
                raise
            log.warning("startup.waiting", step=what, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
