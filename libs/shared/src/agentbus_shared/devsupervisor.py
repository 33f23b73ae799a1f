"""Keeps a running dev stack up: what exits starts again, unless ``var/held/<name>`` holds it down.

A restarted server keeps its port, data directory and routes; the services reconnect to it by
themselves. Something that keeps exiting (five times in a minute) is left down, and said so.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from agentbus_shared.servers import ServerError

if TYPE_CHECKING:
    from agentbus_shared.devstack import DevStack

RESTARTS_A_MINUTE = 5
INTERVAL = 0.25
"""Seconds between looks at the stack's processes."""


class Supervisor:
    """Starts again the servers and service processes of ``stack`` that exit, until it stops."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self._restarts: dict[str, list[float]] = {}

    def run(self) -> None:
        while not self.stack.stopping:
            if self.stack.restart_servers:
                self.restart_exited_servers()
            self.restart_exited_services()
            time.sleep(INTERVAL)

    def held(self, name: str) -> bool:
        """Whether ``var/held/<name>`` asks the supervisor to leave ``name`` down."""
        return (self.stack.var / "held" / name).exists()

    def restart_exited_services(self) -> None:
        for service in [*self.stack.companions, *self.stack.services]:
            process = service.process
            if process is None or process.poll() is None or self.stack.stopping:
                continue
            if self.held(service.name):
                continue
            if not self._may_restart(service.name):
                service.process = None
                continue
            self.stack.progress(f"{service.name} exited ({process.returncode}); restarting")
            service.start()
            self.stack.write_state()

    def restart_exited_servers(self) -> None:
        for server in self.stack.servers:
            process = server.process
            if process is None or process.poll() is None or self.stack.stopping:
                continue
            if self.held(server.name):
                continue
            if not self._may_restart(server.name):
                server.stop()  # it has exited: this forgets it and closes its log
                continue
            self.stack.progress(f"{server.name} exited ({process.returncode}); restarting")
            try:
                server.restart()
            except ServerError as exc:
                self.stack.progress(f"{server.name} did not restart: {exc}")
                continue
            self.stack.write_state()

    def _may_restart(self, name: str) -> bool:
        """At most five restarts a minute each; then give up on it, and say so."""
        now = time.monotonic()
        recent = [t for t in self._restarts.get(name, []) if now - t < 60]
        if len(recent) >= RESTARTS_A_MINUTE:
            self.stack.progress(f"{name} keeps exiting; not restarting it again")
            return False
        self._restarts[name] = [*recent, now]
        return True
