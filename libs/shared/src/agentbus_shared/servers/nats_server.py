"""nats-server with JetStream, alone or as a node of a cluster, with the bus users and permissions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agentbus_shared.bus import permissions
from agentbus_shared.bus.permissions import BusLogins
from agentbus_shared.servers.process import (
    ManagedServer,
    find_binary,
    free_port,
)

_VIOLATION = " Violation - Subject "


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
