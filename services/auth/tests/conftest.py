"""Fixtures of the auth tests: the service on real NATS, PostgreSQL and Redis, driven over the bus.

Mail goes to files in a temporary directory; ``support.AuthClient`` reads it like a person would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from auth_support import AuthClient, Event, ReadEvents, StartAuth, read_events
from faststream.nats import NatsBroker

from agentbus_auth.app import build
from agentbus_auth.settings import AuthSettings
from agentbus_shared.bus.streams import apply_streams
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.plugin import BusLogins

# Cheap argon2 for speed; the parameters themselves are covered by their own tests.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 8 * 1024}


async def apply_all_streams(nats_url: str) -> None:
    """Every stream exists before a service starts, as ``agentbus streams apply`` ensures."""
    nc = await nats.connect(nats_url)
    try:
        await apply_streams(nc.jetstream(), STREAMS)
    finally:
        await nc.close()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture(autouse=True)
def _logs_in_as_auth(monkeypatch: pytest.MonkeyPatch, bus_logins: BusLogins) -> None:
    """The service under test logs in to the bus as auth, with auth's permissions."""
    bus_logins.log_in_as(monkeypatch, "auth")


def auth_settings(
    mail_dir: Path, *, tuning: dict[str, Any] | None = None, **overrides: Any
) -> AuthSettings:
    """The test settings with ``overrides`` and the tuning knobs in ``tuning``."""
    settings = AuthSettings(mail_dir=str(mail_dir), **overrides)
    return settings.tuned(**(FAST_HASHING | (tuning or {})))


@pytest.fixture
async def start_auth(
    service_env: dict[str, str], mail_dir: Path, nats_url: str
) -> AsyncIterator[StartAuth]:
    """Start the auth service with setting overrides:
    ``runtime = await start_auth(signup_policy=…, tuning={"lockout_threshold": …})``."""
    await apply_all_streams(nats_url)
    started: list[ServiceRuntime] = []

    async def start(*, tuning: dict[str, Any] | None = None, **overrides: Any) -> ServiceRuntime:
        runtime = build(
            auth_settings(mail_dir, tuning=tuning, **overrides), configure_process=False
        )
        await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in reversed(started):
        await runtime.stop()


@pytest.fixture
async def auth(start_auth: StartAuth) -> ServiceRuntime:
    return await start_auth()


@pytest.fixture
async def client(broker: NatsBroker, auth: ServiceRuntime, mail_dir: Path) -> AuthClient:
    await broker.connection.flush()
    return AuthClient(broker, auth, mail_dir)


@pytest.fixture
def client_for(broker: NatsBroker, mail_dir: Path) -> Callable[[ServiceRuntime], AuthClient]:
    """A client of an auth service started with other settings (``start_auth(...)``)."""
    return lambda runtime: AuthClient(broker, runtime, mail_dir)


@pytest.fixture
def events(nats_url: str) -> ReadEvents:
    """``await events(subject, count)``: the first ``count`` events on ``subject`` (JetStream)."""

    async def read(subject: str, count: int, timeout: float = 10.0) -> list[Event]:
        return await read_events(nats_url, subject, count, timeout)

    return read
