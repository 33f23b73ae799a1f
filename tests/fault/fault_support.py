"""What the fault tests share: a stack they may break, and the means to break and mend it.

Services are killed with SIGKILL and come back by the dev supervisor. The servers (NATS,
PostgreSQL, Redis) are not supervised: a test stops one by its pid from ``stack.json`` and
starts it again on the same port and data directory (``restart_server``); the restarted
server belongs to the test, which stops it after the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
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
from agentbus_shared.testing.stack import Stack, start_stack

PASSWORD = "correct horse battery staple 42"
PROBLEM = "application/problem+json"

# Load tests send far more than the default quotas allow from one IP.
_GENEROUS = {"limit": 1_000_000, "window": 60}
FAULT_ENV = {
    # The tests stop and start nats-server, PostgreSQL and Redis themselves.
    "AGENTBUS_DEV_RESTART_SERVERS": "0",
    "GATEWAY_TUNING__RATE_LIMITS": json.dumps(
        {
            group: {"ip": _GENEROUS, "user": _GENEROUS, "tenant": _GENEROUS}
            for group in ("strict", "anonymous", "authenticated", "webhooks", "edge")
        }
    ),
}


@dataclass
class FaultStack:
    """A running stack plus the servers a test restarted (stopped after the stack)."""

    stack: Stack
    restarted: dict[str, ManagedServer] = field(default_factory=dict)

    # ------------------------------------------------------------ services
    def service_url(self, name: str) -> str:
        self.stack.refresh()
        return str(self.stack.state["services"][name]["url"])

    def kill_service(self, name: str) -> int:
        """SIGKILL the service; return the pid it had."""
        pid = self.stack.service_pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_service_back(self, name: str, old_pid: int, timeout: float = 60.0) -> int:
        """Poll until the supervisor runs a new process for ``name`` and it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.stack.service_pid(name)
            if pid != old_pid and ready_status(self.service_url(name)) == 200:
                return pid
            time.sleep(0.2)
        raise AssertionError(f"{name} did not come back within {timeout:.0f}s")

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
            deadline = time.monotonic() + timeout
            # The dev stack is its parent and does not reap it: a zombie has stopped.
            while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                assert time.monotonic() < deadline, f"{name} did not stop"
                time.sleep(0.05)
        deadline = time.monotonic() + timeout
        while port_open(info["host"], int(info["port"])):
            assert time.monotonic() < deadline, f"{name} still listens"
            time.sleep(0.05)

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

    # ------------------------------------------------------------ data
    def psql(self, sql: str) -> list[list[str]]:
        """Rows of ``sql`` run on the stack's database (fields split on ``|``)."""
        server = PostgresServer.attach(self.stack.state["urls"]["DATABASE_URL"])
        out = server.psql(sql, database=server.database)
        return [line.split("|") for line in out.splitlines() if line]

    def close(self) -> None:
        try:
            self.stack.stop()
        finally:
            for server in self.restarted.values():
                server.stop()


def fault_stack(directory: Path, extra_env: dict[str, str] | None = None) -> Iterator[FaultStack]:
    faults = FaultStack(start_stack(directory / "var", {**FAULT_ENV, **(extra_env or {})}))
    try:
        yield faults
    finally:
        faults.close()


def ready_status(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health/ready", timeout=5).status_code
    except httpx.HTTPError:
        return None


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``check`` until true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.2)


# ------------------------------------------------------------------ answers
@dataclass
class Answer:
    """One HTTP exchange under load: its status, or the transport error instead of an answer."""

    label: str
    status: int | None
    headers: dict[str, str]
    body: Any
    error: str | None = None
    seconds: float = 0.0


async def send(
    client: httpx.AsyncClient, label: str, method: str, url: str, **kwargs: Any
) -> Answer:
    started = time.monotonic()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Answer(
            label, None, {}, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started
        )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(
        label,
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        body,
        seconds=time.monotonic() - started,
    )


def assert_error_answer(answer: Answer, allowed: tuple[int, ...] = (503, 504)) -> None:
    """A failed request under a fault is a problem document saying when to come back."""
    assert answer.status in allowed, answer
    assert answer.headers.get("content-type", "").startswith(PROBLEM), answer
    assert int(answer.headers["retry-after"]) >= 0, answer
    assert isinstance(answer.body, dict), answer
    assert answer.body["status"] == answer.status, answer
    assert "Traceback" not in json.dumps(answer.body), answer


def retry_delay(answer: Answer) -> float:
    """What a polite client waits after a 503/504: Retry-After, capped for a short test."""
    try:
        return min(float(answer.headers.get("retry-after", "0.2")), 0.5)
    except ValueError:
        return 0.2


# ------------------------------------------------------------------ Stripe
def webhook_secret(stack: Stack) -> str:
    secrets = json.loads((stack.var_dir / "dev-secrets.json").read_text())
    return str(secrets["STRIPE_WEBHOOK_SECRETS"]).split(",")[0]


def signed_webhook(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event).encode()
    ts = int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


def customer_created(event_id: str, tenant_id: str) -> dict[str, Any]:
    """A Stripe event whose one effect in billing is a customer row for ``tenant_id``."""
    return {
        "id": event_id,
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"cus_{event_id.removeprefix('evt_')}",
                "object": "customer",
                "metadata": {"tenant_id": tenant_id},
            }
        },
    }


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def poll_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """``wait_for`` inside an event loop: other tasks run while it waits."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        await asyncio.sleep(0.02)
