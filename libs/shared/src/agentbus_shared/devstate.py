"""``var/stack.json`` of a dev stack: what runs where (URLs, ports, pids, the servers' data), for
tools and tests; rewritten after every restart, atomically, readable by its owner only (it holds
the harness's bus password)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbus_shared.servers import NatsServer

if TYPE_CHECKING:
    from agentbus_shared.devstack import DevStack


def describe(stack: DevStack) -> dict[str, Any]:
    """The running stack as ``stack.json`` says it."""
    gateway = next((s for s in stack.services if s.manifest.name == "gateway"), None)
    return {
        "gateway_url": gateway.url if gateway else None,
        "metrics_urls": {
            name: f"http://127.0.0.1:{port}" for name, port in stack.metrics_ports.items()
        },
        "urls": stack.urls,
        "services": {
            s.name: {
                "url": s.url,
                "pid": s.process.pid if s.process else None,
                "service": s.manifest.name,
                "instance": s.env.get("SERVICE_INSTANCE"),
                "nats_url": s.env.get("NATS_URL"),
            }
            for s in stack.services
        },
        "companions": {
            s.manifest.name: {"url": s.url, "pid": s.process.pid if s.process else None}
            for s in stack.companions
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
                **(
                    {"monitor_url": server.monitor_url}
                    if isinstance(server, NatsServer) and server.monitor_url
                    else {}
                ),
            }
            for server in stack.servers
        },
        "var_dir": str(stack.var),
        "cluster": stack.cluster,
        "pid": os.getpid(),
    }


def write(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically: tools and tests read it while the supervisor
    rewrites it after a restart (a reader once saw the file empty between truncate and write)."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.touch(mode=0o600)  # it holds the harness's bus password
    staged.write_text(json.dumps(state, indent=2))
    os.replace(staged, path)
