"""What the fault tests share: the stack they break, and the means to break and mend it.

Services are killed with SIGKILL and come back by the dev supervisor. The servers (NATS,
PostgreSQL, Redis) are not supervised: a test stops one by its pid from ``stack.json`` and
starts it again on the same port and data directory (``start_server``); the restarted
server belongs to the :class:`FaultStack` (a later test stops it there), which stops it after
the stack.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from agentbus_shared.servers import (
    ManagedServer,
    NatsServer,
    PostgresServer,
    RedisServer,
    port_open,
)
from agentbus_shared.testing.answers import (  # noqa: F401 - the fault tests import them here
    PROBLEM,
    Answer,
    assert_error_answer,
    retry_delay,
    send,
)
from agentbus_shared.testing.stack import Stack, generous_rate_limits, start_stack
from agentbus_shared.testing.waiting import eventually_blocking

PASSWORD = "correct horse battery staple 42"

FAULT_ENV = {
    # The tests stop and start nats-server, PostgreSQL and Redis themselves.
    "AGENTBUS_DEV_RESTART_SERVERS": "0",
    # Load tests send far more than the default quotas allow from one IP.
    **generous_rate_limits(),
}


STREAMS = 4
"""Chat streams the chat crash test keeps open (under the per-user cap of open streams, 5)."""
RUN_CHECK = 2.0
"""Seconds of silence after which the gateway asks chat whether a stream's run still runs."""
CHAT_CRASH_ENV = {
    # slow enough that the runs are mid-stream when chat dies
    "CHAT_TUNING__BUILTIN_TOKEN_DELAY": "0.3",
    "GATEWAY_TUNING__SSE_RUN_CHECK": str(RUN_CHECK),
    # the streams and one plain run hold every slot: the second plain run waits
    "CHAT_TUNING__RUN_SLOTS": str(STREAMS + 1),
    # the killed replica's runs keep their places for one lease after the kill
    "CHAT_TUNING__MAX_RUNS_PER_USER": str(2 * (STREAMS + 1)),
}
"""What the chat crash test needs of chat and the gateway; no other fault test chats."""


@dataclass
class FaultStack:
    """A running stack plus the servers a test restarted (stopped after the stack)."""

    stack: Stack
    restarted: dict[str, ManagedServer] = field(default_factory=dict)

    # ------------------------------------------------------------ services
    def service_url(self, name: str) -> str:
        self.stack.refresh()
        return str(self.stack.state["services"][name]["url"])

    # ------------------------------------------------------------ servers
    def server(self, name: str) -> dict[str, Any]:
        self.stack.refresh()
        return dict(self.stack.state["servers"][name])

    def stop_server(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Stop the server by signal (SIGTERM, SIGINT = PostgreSQL's fast shutdown, SIGKILL)."""
        running = self.restarted.pop(name, None)
        if running is not None:
            if sig == signal.SIGKILL:
                running.kill()
            running.stop()
            return
        info = self.server(name)
        pid = int(info["pid"])
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            process.send_signal(sig)
            eventually_blocking(lambda: _stopped(process), what=f"{name} stopped", timeout=timeout)
        eventually_blocking(
            lambda: not port_open(info["host"], int(info["port"])),
            what=f"{name} no longer listening",
            timeout=timeout,
        )

    def start_server(self, name: str) -> ManagedServer:
        """Start the server again on its port and data directory.

        Call it from the main thread: the server gets a parent-death signal, which fires when
        the *thread* that started it ends (e.g. an ``asyncio.to_thread`` worker).
        """
        info = self.server(name)
        kinds: dict[str, type[ManagedServer]] = {
            "nats": NatsServer,
            "postgres": PostgresServer,
            "redis": RedisServer,
        }
        server = kinds[name](Path(info["data_dir"]), port=int(info["port"]), host=info["host"])
        server.start()
        self.restarted[name] = server
        return server

    def close(self) -> None:
        try:
            self.stack.stop()
        finally:
            for server in self.restarted.values():
                server.stop()


def fault_stack(directory: Path) -> Iterator[FaultStack]:
    """The stack the fault tests break in turn (each leaves it whole again, and checks that)."""
    faults = FaultStack(start_stack(directory / "var", {**FAULT_ENV, **CHAT_CRASH_ENV}))
    try:
        yield faults
    finally:
        faults.close()


def _stopped(process: psutil.Process) -> bool:
    """The dev stack is the server's parent and does not reap it: a zombie has stopped."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    return True


def ready_status(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health/ready", timeout=5).status_code
    except httpx.HTTPError:
        return None


@dataclass(frozen=True)
class Owner:
    """A tenant's owner, just signed up: the tenant's id and the bearer header of the session."""

    tenant_id: str
    headers: dict[str, str]


async def sign_up(client: httpx.AsyncClient, email: str, tenant_name: str) -> Owner:
    """Register ``email`` as the owner of a new tenant (must succeed)."""
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "tenant_name": tenant_name},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    return Owner(
        body["tenant"]["id"], {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    )
