"""deploy/compose.yml brought up with podman-compose, as an operator would, and taken down.

The production file is used as it is, from a scratch copy of ``deploy/`` with a ``.env`` made
from ``.env.example`` beside it (every secret filled in, as docs/runbooks/first-deploy.md asks),
plus the test-only override ``compose.test.yml`` that swaps the engines' images for stand-ins.
podman 4.3 cannot wait on ``depends_on`` health conditions (podman-compose ignores them below
podman 4.6) and runs health checks only from systemd timers, which a container sandbox lacks; so
the stack comes up in the order its ``depends_on`` declares, one layer at a time, each service's
own health check run until it passes and each job awaited until it exits.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from agentbus_shared.servers import find_binary, free_port
from agentbus_shared.testing.host_network import changing_interfaces
from agentbus_shared.testing.waiting import eventually_blocking

from . import containers, derive

OVERRIDE = Path(__file__).parent / "compose.test.yml"
PROJECT_LABEL = "io.podman.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
HEALTH_TIMEOUT = 120.0
PROJECT_PREFIX = "agentbus-test-"
"""A test run's project is named after its process: ``agentbus-test-<pid>``."""


def env_file() -> str:
    """``.env.example`` with every blank (required) value set to a fresh secret."""

    def fill(match: re.Match[str]) -> str:
        return f"{match[1]}=s{secrets.token_hex(24)}"

    return re.sub(
        r"^([A-Z][A-Z0-9_]*)=$", fill, (derive.ROOT / ".env.example").read_text(), flags=re.M
    )


def start_order(services: dict[str, Any]) -> list[list[str]]:
    """The services without a profile in layers: each after every service it depends on."""
    pending = {name: set(spec.get("depends_on", {})) for name, spec in services.items()}
    pending = {n: deps for n, deps in pending.items() if "profiles" not in services[n]}
    layers: list[list[str]] = []
    started: set[str] = set()
    while pending:
        layer = sorted(n for n, deps in pending.items() if deps <= started)
        assert layer, f"depends_on has a cycle among {sorted(pending)}"
        layers.append(layer)
        started |= set(layer)
        pending = {n: deps for n, deps in pending.items() if n not in started}
    return layers


@dataclass
class ComposeStack:
    """A compose project running on this machine: its scratch directory, name and variables."""

    directory: Path
    project: str
    variables: dict[str, str]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.variables['GATEWAY_PORT']}"

    @property
    def settings(self) -> dict[str, str]:
        """The ``.env`` the services read (the operator's settings and secrets)."""
        pairs = (line.split("=", 1) for line in (self.directory / ".env").read_text().splitlines())
        return {k: v for k, v in (p for p in pairs if len(p) == 2) if not k.startswith("#")}

    def compose(self, *args: str, timeout: float = 300) -> str:
        command = [
            str(find_binary("podman-compose")),
            "--project-name",
            self.project,
            "--env-file",
            str(self.directory / ".env"),
            "--file",
            "deploy/compose.yml",
            "--file",
            "deploy/compose.test.yml",
            *args,
        ]
        return containers.run(command, cwd=self.directory, timeout=timeout, env=self.variables)

    def services(self) -> dict[str, Any]:
        """The services of the merged configuration."""
        config: dict[str, Any] = yaml.safe_load(self.compose("config"))
        return dict(config["services"])

    def container(self, service: str) -> str:
        names = containers.podman(
            "ps",
            "--all",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label={PROJECT_LABEL}={self.project}",
            "--filter",
            f"label={SERVICE_LABEL}={service}",
        ).split()
        assert len(names) == 1, f"{service}: containers {names}"
        return names[0]

    def up(self) -> None:
        """Every layer of the start order, started and healthy (or, for a job, done); the
        browser tests wait meanwhile, since each container brings a network interface (and a
        job's takes it away again when it exits)."""
        with changing_interfaces():
            self._up()

    def _up(self) -> None:
        services = self.services()
        jobs = {
            dependency
            for spec in services.values()
            for dependency, condition in spec.get("depends_on", {}).items()
            if condition.get("condition") == "service_completed_successfully"
        }
        for layer in start_order(services):
            self.compose("up", "--detach", "--no-build", "--no-deps", *layer)
            for service in layer:
                if service in jobs:
                    self.wait_completed(service)
                elif services[service].get("healthcheck"):
                    self.wait_healthy(service)

    def wait_healthy(self, service: str) -> None:
        name = self.container(service)

        def healthy() -> bool:
            state = containers.podman("inspect", "--format", "{{.State.Status}}", name).strip()
            assert state != "exited", f"{service} exited"
            check = subprocess.run(
                ["podman", "healthcheck", "run", name],
                env=containers.podman_env(),
                capture_output=True,
                check=False,
                timeout=30,
            )
            return check.returncode == 0

        try:
            eventually_blocking(
                healthy, what=f"{service} healthy", timeout=HEALTH_TIMEOUT, interval=1
            )
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{self.logs(service)}") from None

    def wait_completed(self, service: str) -> None:
        name = self.container(service)
        code = containers.podman("wait", name, timeout=HEALTH_TIMEOUT).strip()
        assert code == "0", f"{service} exited with {code}:\n{self.logs(service)}"

    def logs(self, service: str) -> str:
        result = subprocess.run(
            ["podman", "logs", "--tail", "60", self.container(service)],
            env=containers.podman_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return f"--- {service} ---\n{result.stdout}{result.stderr}"

    def psql(self, sql: str) -> str:
        """One query in the PostgreSQL container, as the application's role; rows as text."""
        return containers.podman(
            "exec",
            self.container("postgres"),
            "psql",
            "--username=agentbus",
            "--dbname=agentbus",
            "--tuples-only",
            "--no-align",
            "--command",
            sql,
        ).strip()

    def down(self) -> None:
        with changing_interfaces():
            self.compose("down", "--volumes", "--timeout", "20")

    def leftovers(self) -> dict[str, list[str]]:
        """What of the project is still on this machine (nothing, after ``down``)."""
        label = f"label={PROJECT_LABEL}={self.project}"
        left = {
            kind: containers.podman(*command, "--filter", label, "--format", "{{.Name}}").split()
            for kind, command in {
                "containers": ("ps", "--all"),
                "networks": ("network", "ls"),
                "volumes": ("volume", "ls"),
            }.items()
        }
        return {**left, "pods": pods_of(self.project)}


def pods_of(project: str) -> list[str]:
    """The project's pod: podman-compose names it ``pod_<project>`` and labels it with nothing."""
    name = f"name=^pod_{re.escape(project)}$"
    return containers.podman("pod", "ps", "--filter", name, "--format", "{{.Name}}").split()


def remove_abandoned_projects() -> None:
    """Take away what a test run that died left of its project (its process is gone): its
    containers keep running under conmon, and its pod, networks and volumes stay."""
    listed = containers.podman(
        "ps", "--all", "--format", f'{{{{index .Labels "{PROJECT_LABEL}"}}}}'
    ).split()
    for project in set(listed):
        owner = re.fullmatch(rf"{PROJECT_PREFIX}(\d+)", project)
        if owner is None or psutil.pid_exists(int(owner[1])):
            continue
        label = f"label={PROJECT_LABEL}={project}"
        containers.podman("rm", "--force", "--time=0", "--volumes", "--filter", label)
        pods = pods_of(project)
        if pods:
            containers.podman("pod", "rm", "--force", *pods)
        containers.podman("network", "prune", "--force", "--filter", label)
        containers.podman("volume", "prune", "--force", "--filter", label)


def compose_stack(directory: Path, images: containers.Images) -> Iterator[ComposeStack]:
    """deploy/compose.yml up on ``images``, yielded running, then down with its volumes."""
    with changing_interfaces():
        remove_abandoned_projects()
    shutil.copytree(derive.DEPLOY, directory / "deploy")
    shutil.copy(OVERRIDE, directory / "deploy" / OVERRIDE.name)
    (directory / ".env").write_text(env_file())
    stack = ComposeStack(
        directory,
        f"{PROJECT_PREFIX}{os.getpid()}",
        {
            "AGENTBUS_IMAGE_PREFIX": containers.PREFIX,
            "AGENTBUS_VERSION": images.version,
            "AGENTBUS_STANDIN_VERSION": images.engines["nats"].tag,
            "GATEWAY_BIND": "127.0.0.1",
            "GATEWAY_PORT": str(free_port()),
        },
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
