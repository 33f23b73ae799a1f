"""One process ``agentbus dev`` runs and watches: a service, or a companion (a stand-in)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentbus_shared.manifest import Companion, ServiceManifest


@dataclass
class ServiceProcess:
    """``python -m <module>`` of a service or companion, its port, environment and log file."""

    manifest: ServiceManifest
    port: int
    env: dict[str, str]
    log_path: Path | None
    process: subprocess.Popen[bytes] | None = None
    health_path: str = "/health/ready"
    name: str = ""
    """The process's name in the stack: the service's, or ``<service>-<n>`` for a further
    replica."""

    def __post_init__(self) -> None:
        self.name = self.name or self.manifest.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out: Any = None
        if self.log_path is not None:
            out = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", self.manifest.module],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
            start_new_session=True,  # Ctrl-C is the supervisor's: it stops the services in order
        )
        if out is not None:
            out.close()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _die_with_parent() -> None:
    import ctypes

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM, 0, 0, 0)


def as_manifest(companion: Companion) -> ServiceManifest:
    """A companion runs like a service without a schema (``python -m <module>``)."""
    return ServiceManifest(
        name=companion.name, module=companion.module, default_port=companion.default_port
    )


def get_status(url: str) -> int | None:
    """The HTTP status ``url`` answers, or None while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None
