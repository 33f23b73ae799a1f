"""redis-server, without persistence unless asked."""

from __future__ import annotations

from agentbus_shared.servers.process import (
    ManagedServer,
    find_binary,
)


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
