"""Every service, run as in deployment (its own process, its own bus user), on the secured NATS."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentbus_shared import manifest
from agentbus_shared.bus.permissions import password_variable
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.servers import free_port
from agentbus_shared.settings import DEV_SECRET_PREFIX

from . import derive
from .natsbus import SecuredNats, login, make_passwords


def _status(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        return None, str(exc)


@pytest.fixture
def secured_nats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecuredNats]:
    passwords = make_passwords()
    for key, value in passwords.items():
        monkeypatch.setenv(key, value)
    server = SecuredNats(tmp_path / "nats", passwords)
    (tmp_path / "nats").mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_every_service_runs_and_is_ready_with_only_its_own_bus_permissions(
    secured_nats: SecuredNats, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    ops = await login(secured_nats.url, "ops", secured_nats.passwords[password_variable("ops")])
    await apply_streams(ops.client.jetstream(), STREAMS)
    await apply_buckets(ops.client.jetstream(), BUCKETS)
    await ops.close()

    processes: dict[str, tuple[subprocess.Popen[bytes], int, Path]] = {}
    try:
        for service in derive.services():
            port = free_port()
            log = tmp_path / f"{service.name}.log"
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("NATS_")},
                **{
                    k: (DEV_SECRET_PREFIX + secrets.token_urlsafe(16))
                    if v == manifest.DEV_SECRET
                    else v
                    for k, v in service.env.items()
                },
                "ENVIRONMENT": "test",
                "NATS_URL": secured_nats.url,
                "NATS_USER": service.name,
                "NATS_PASSWORD": secured_nats.passwords[password_variable(service.name)],
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(port),
                **(
                    {f"{service.name.upper()}_METRICS_PORT": str(free_port())}
                    if service.metrics_port
                    else {}
                ),
                "LOG_FORMAT": "json",
            }
            with log.open("wb") as out:
                # Popen returns at once: the service runs beside the test.
                process = subprocess.Popen(  # noqa: ASYNC220
                    [sys.executable, "-m", service.module],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            processes[service.name] = (process, port, log)

        deadline = time.monotonic() + 90
        pending = dict(processes)
        last: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for name, (process, port, log) in list(pending.items()):
                assert process.poll() is None, f"{name} exited:\n{log.read_text()[-3000:]}"
                status, body = await asyncio.to_thread(
                    _status, f"http://127.0.0.1:{port}/health/ready"
                )
                last[name] = f"{status} {body}"
                if status == 200:
                    del pending[name]
            await asyncio.sleep(0.2)
        assert not pending, {
            name: (last.get(name), log.read_text()[-2000:]) for name, (_, _, log) in pending.items()
        }
        for name, (_, _, log) in processes.items():
            assert "permissions violation" not in log.read_text().lower(), (
                f"{name} hit a bus permission it lacks:\n{log.read_text()[-3000:]}"
            )
    finally:
        for process, _, _ in processes.values():
            process.terminate()
        for process, _, _ in processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
