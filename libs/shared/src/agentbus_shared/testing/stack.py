"""The whole system as separate processes, started exactly as `uv run task dev` starts it.

Used by the end-to-end, contract, fault, fuzz and cluster suites: `start_stack` runs `agentbus dev
--free-ports --var-dir <dir> --log-files` and waits for the gateway's readiness; `Stack.stop`
stops it and fails when its nats-server (the deployed bus permissions) refused a service; `Stack`
tells where everything is (``<var>/stack.json``) and kills a process of it, holding it down
until released (``<var>/held/<name>``, :mod:`agentbus_shared.devstack`); `read_sse` (`aread_sse`
from an async client) parses an event stream as it arrives; `generous_rate_limits` is the
environment of a suite that sends more than the quotas allow; `signed_stripe_event` posts as
Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from agentbus_shared.contracts.http import RATE_GROUPS
from agentbus_shared.servers import PostgresServer, permission_violations, port_open
from agentbus_shared.testing.waiting import MailSink, eventually_blocking

STARTUP_TIMEOUT = 180.0
AGENTBUS = str(Path(sys.executable).parent / "agentbus")


@dataclass
class Stack:
    """A running ``agentbus dev``: where things are, and how to reach them."""

    process: subprocess.Popen[bytes]
    var_dir: Path
    state: dict[str, Any]
    tolerated: set[str] = field(default_factory=set)
    """Lines of :meth:`bus_violations` a test explained (``tolerate``): ``stop`` lets them be."""

    @property
    def gateway_url(self) -> str:
        return str(self.state["gateway_url"])

    @property
    def gateway_metrics_url(self) -> str:
        """The gateway's internal listener: ``/metrics`` is not on its public port."""
        return str(self.state["metrics_urls"]["gateway"])

    def refresh(self) -> None:
        self.state = json.loads((self.var_dir / "stack.json").read_text())

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.gateway_url, timeout=30.0, **kwargs)

    def agentbus(self, *args: str) -> str:
        """Run an operator's command against this stack (``agentbus <args> --var-dir <var>``);
        its output. Fails when the command does."""
        result = subprocess.run(  # noqa: S603 - our own CLI, arguments we built
            [AGENTBUS, *args, "--var-dir", str(self.var_dir)],
            env=_outside_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def log(self, name: str) -> str:
        path = self.var_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def mail(self) -> MailSink:
        """The dev mail sink (``<var>/mail``): every message the stack sent."""
        return MailSink(self.var_dir / "mail")

    def mailed_code(self, to: str, template: str, *, count: int = 1) -> str:
        """The code of the ``count``-th ``template`` mail to ``to``; waits for it."""
        return self.mail.mailed_code_blocking(to, template, count=count)

    def mailed_invite(self, to: str, *, count: int = 1) -> str:
        """The token of the invite mail to ``to``: only the invited mailbox receives it."""
        return self.mail.mailed_invite_blocking(to, count=count)

    def mailed_link(self, to: str, template: str, *, count: int = 1) -> str:
        """The link of the ``count``-th ``template`` mail to ``to`` (a signup invite's); waits."""
        return self.mail.mailed_link_blocking(to, template, count=count)

    def stripe_webhook_secret(self) -> str:
        """The secret the stack's gateway checks Stripe signatures with."""
        secrets = json.loads((self.var_dir / "dev-secrets.json").read_text())
        return str(secrets["STRIPE_WEBHOOK_SECRETS"]).split(",")[0]

    def replicas(self, service: str) -> dict[str, dict[str, Any]]:
        """The processes of ``service`` by name (``auth``, and ``auth-2`` in a clustered stack)."""
        self.refresh()
        return {
            name: process
            for name, process in self.state["services"].items()
            if process.get("service", name) == service
        }

    def psql(self, sql: str) -> list[list[str]]:
        """Rows of ``sql`` run on the stack's database (fields split on ``|``)."""
        server = PostgresServer.attach(self.state["urls"]["DATABASE_URL"])
        out = server.psql(sql, database=server.database)
        return [line.split("|") for line in out.splitlines() if line]

    def pid(self, name: str) -> int | None:
        """The pid of the stack's process ``name`` (a service replica or a server), now."""
        self.refresh()
        found = self.state["services"].get(name) or self.state["servers"].get(name) or {}
        return int(found["pid"]) if found.get("pid") else None

    def hold_down(self, name: str) -> None:
        """Ask the supervisor to leave ``name`` down once it exits (``<var>/held/<name>``)."""
        held = self.var_dir / "held"
        held.mkdir(exist_ok=True)
        (held / name).touch()

    def release(self, name: str) -> None:
        """Let the supervisor start ``name`` again (same ports, data and routes)."""
        (self.var_dir / "held" / name).unlink(missing_ok=True)

    def kill(self, name: str) -> int:
        """SIGKILL the process ``name``; its pid, once it is gone."""
        pid = self.pid(name)
        assert pid is not None, f"{name} is not running"
        os.kill(pid, signal.SIGKILL)
        eventually_blocking(lambda: not _alive(pid), what=f"{name} ({pid}) gone", timeout=10)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60.0) -> int:
        """Wait until the supervisor runs ``name`` again (a new pid, listening); its pid."""

        def restarted() -> int | None:
            pid = self.pid(name)
            return pid if pid not in (None, old_pid) and self._listening(name) else None

        return eventually_blocking(restarted, what=f"{name} running again", timeout=timeout)

    def _listening(self, name: str) -> bool:
        if name in self.state["servers"]:
            server = self.state["servers"][name]
            return port_open(server["host"], int(server["port"]))
        try:
            url = self.state["services"][name]["url"]
            return httpx.get(f"{url}/health/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def bus_violations(self) -> list[str]:
        """What the stack's nats-servers refused a client (a service lacking a bus permission)."""
        logs = sorted(self.var_dir.glob("nats*.log"))  # nats.log, or nats-1.log … of a cluster
        return [line for log in logs for line in permission_violations(log)]

    def tolerate(self, violations: list[str]) -> None:
        """Let ``stop`` pass these lines of :meth:`bus_violations`, which a test explained."""
        self.tolerated.update(violations)

    def stop(self) -> str:
        """Stop the stack (its output is returned); fail when its bus refused a service anything
        no test explained."""
        output = stop_stack(self.process)
        violations = [line for line in self.bus_violations() if line not in self.tolerated]
        assert not violations, (
            "the bus refused a service (grant it in agentbus_shared.bus.permissions):\n"
            + "\n".join(violations)
        )
        return output

    def ready(self) -> bool:
        """The gateway answers its readiness probe with 200 (every service and server is up)."""
        try:
            return httpx.get(self.gateway_url + "/health/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        eventually_blocking(self.ready, what="the stack ready", timeout=timeout)


_UNREACHED = {"limit": 1_000_000, "window": 60}


def generous_rate_limit_table(
    groups: tuple[str, ...] = RATE_GROUPS,
) -> dict[str, dict[str, dict[str, int]]]:
    """Quotas no test reaches, per IP, user and tenant, for ``groups`` (by default every group;
    groups not named keep the gateway's defaults)."""
    return {group: dict.fromkeys(("ip", "user", "tenant"), _UNREACHED) for group in groups}


def generous_rate_limits(groups: tuple[str, ...] = RATE_GROUPS) -> dict[str, str]:
    """The stack environment that raises ``groups``' quotas and auth's signup quotas out of reach:
    for suites sending more requests from one address than a client may (the rate limits and the
    signup quotas have their own tests)."""
    return {
        "GATEWAY_TUNING__RATE_LIMITS": json.dumps(generous_rate_limit_table(groups)),
        "AUTH_TUNING__SIGNUP_IP_LIMIT": str(_UNREACHED["limit"]),
        "AUTH_TUNING__SIGNUP_DOMAIN_LIMIT": str(_UNREACHED["limit"]),
    }


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie its parent has not reaped yet has stopped)."""
    try:
        process = psutil.Process(pid)
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _outside_env() -> dict[str, str]:
    """This process's environment without server URLs: the stack's own files name its servers."""
    return {
        k: v for k, v in os.environ.items() if k not in {"NATS_URL", "DATABASE_URL", "REDIS_URL"}
    }


def start_stack(
    var_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    cluster: bool = False,
    replicas: int | None = None,
) -> Stack:
    """``agentbus dev`` on free ports, ready; with ``cluster``, ``--cluster`` (three NATS nodes,
    ``replicas`` of every service: two unless given)."""
    env = _outside_env()
    env.update({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", **(extra_env or {})})
    process = subprocess.Popen(  # noqa: S603 - our own CLI, arguments we built
        [
            AGENTBUS,
            "dev",
            "--free-ports",
            "--var-dir",
            str(var_dir),
            "--log-files",
            *(["--cluster"] if cluster else []),
            *(["--replicas", str(replicas)] if replicas is not None else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    state_file = var_dir / "stack.json"

    def started() -> bool:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"agentbus dev exited during start-up:\n{output}")
        return state_file.exists()

    try:
        eventually_blocking(
            started, what="agentbus dev started", timeout=STARTUP_TIMEOUT, interval=0.25
        )
    except AssertionError:
        stop_stack(process)
        raise
    stack = Stack(process, var_dir, json.loads(state_file.read_text()))
    stack.wait_ready()
    return stack


def stop_stack(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=10)
    return output.decode(errors="replace") if output else ""


def stripe_signature(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe computes it: HMAC-SHA256 of ``"<t>.<body>"``, signed now
    unless ``timestamp`` says when."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def signed_stripe_event(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A Stripe event as Stripe posts it: the body and its ``Stripe-Signature`` headers."""
    payload = json.dumps(event).encode()
    signature = stripe_signature(payload, secret, timestamp=timestamp)
    return payload, {"Stripe-Signature": signature, "Content-Type": "application/json"}


def stripe_customer_created(event_id: str, tenant_id: str) -> dict[str, Any]:
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


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: Any


class _SseParser:
    """Lines of ``text/event-stream`` in, whole events out; comment lines (heartbeats) skipped."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self.event_id: str | None = None
        self.name = "message"
        self.data_lines: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        """The event ``line`` completes, if it does."""
        if line.startswith(":"):
            return None
        if not line:
            event = self._event() if self.data_lines else None
            self._start()
            return event
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            self.event_id = value
        elif key == "event":
            self.name = value
        elif key == "data":
            self.data_lines.append(value)
        return None

    def _event(self) -> SseEvent:
        raw = "\n".join(self.data_lines)
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError:
            data = raw
        return SseEvent(self.event_id, self.name, data)


def read_sse(response: httpx.Response) -> Iterator[SseEvent]:
    """Parse ``text/event-stream`` as it arrives; comment lines (heartbeats) are skipped."""
    parser = _SseParser()
    for line in response.iter_lines():
        if (event := parser.feed(line)) is not None:
            yield event


async def aread_sse(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """:func:`read_sse` of a response read by an async client."""
    parser = _SseParser()
    async for line in response.aiter_lines():
        if (event := parser.feed(line)) is not None:
            yield event
