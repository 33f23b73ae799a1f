"""`agentbus dev` as a user runs it: everything comes up, Ctrl-C leaves nothing, data survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from agentbus_shared.testing.stack import Stack

pytestmark = pytest.mark.slow


def ignore_sigint() -> None:
    """As a shell starts a background job: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_stack(var_dir: Path, *, as_background_job: bool = False) -> subprocess.Popen[bytes]:
    agentbus = Path(sys.executable).parent / "agentbus"
    return subprocess.Popen(
        [str(agentbus), "dev", "--free-ports", "--var-dir", str(var_dir), "--log-files"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={
            k: v
            for k, v in os.environ.items()
            if k not in {"NATS_URL", "DATABASE_URL", "REDIS_URL"}
        },
        preexec_fn=ignore_sigint if as_background_job else None,  # noqa: PLW1509
    )


def wait_for_state(var_dir: Path, process: subprocess.Popen[bytes], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    state_file = var_dir / "stack.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dev stack exited: {process.stdout.read().decode()}")  # type: ignore[union-attr]
        if state_file.exists():
            return json.loads(state_file.read_text())
        time.sleep(0.2)
    raise AssertionError("dev stack did not come up")


def wait_for_new_server(var_dir: Path, name: str, old_pid: int, timeout: float = 60) -> dict:
    """The stack's state once ``name`` runs again under a new pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads((var_dir / "stack.json").read_text())
        if state["servers"][name]["pid"] != old_pid and alive(state["servers"][name]["pid"]):
            return state
        time.sleep(0.2)
    raise AssertionError(f"{name} was not restarted")


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def stop_stack(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output.decode()


def all_pids(state: dict) -> list[int]:
    pids = [state["pid"]]
    pids += [s["pid"] for s in state["services"].values()]
    pids += [s["pid"] for s in state["servers"].values()]
    return pids


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_dev_stack_runs_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    process = start_stack(var_dir)
    try:
        state = wait_for_state(var_dir, process)
        status, ready = get_json(state["gateway_url"] + "/health/ready")
        assert status == 200, ready
        assert set(ready["checks"]) >= {"nats", "redis", "auth", "chat", "billing"}
        for name in ("auth", "chat", "billing"):
            status, body = get_json(state["services"][name]["url"] + "/health/ready")
            assert status == 200 and body["checks"]["database"] == "ok"
            assert body["checks"]["nats"] == "ok"
        # The gateway's metrics are on its own internal port, not on the public one.
        with urllib.request.urlopen(state["metrics_urls"]["gateway"] + "/metrics") as metrics:
            assert b"agentbus_http_requests_total" in metrics.read()
        with pytest.raises(urllib.error.HTTPError) as public:
            urllib.request.urlopen(state["gateway_url"] + "/metrics", timeout=5)
        assert public.value.code == 404
        # Leave a mark in the database to find after a restart.
        postgres_url = state["urls"]["DATABASE_URL"]
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    c = await asyncpg.connect(sys.argv[1])\n"
                "    await c.execute('CREATE TABLE IF NOT EXISTS public.survives (v text)')\n"
                "    await c.execute(\"INSERT INTO public.survives VALUES ('still here')\")\n"
                "    await c.close()\n"
                "asyncio.run(main())",
                postgres_url,
            ],
            check=True,
        )
        # A server that dies is started again on its port and data; the services reconnect.
        for name in ("postgres", "nats"):
            before = state["servers"][name]
            os.kill(before["pid"], signal.SIGKILL)
            state = wait_for_new_server(var_dir, name, before["pid"])
            after = state["servers"][name]
            assert (after["port"], after["data_dir"]) == (before["port"], before["data_dir"])
        Stack(process, var_dir, state).wait_ready(timeout=60)
    finally:
        output = stop_stack(process)
    assert process.returncode == 0, output
    assert "postgres exited (-9); restarting" in output
    assert "nats exited (-9); restarting" in output
    leftovers = [pid for pid in all_pids(state) if alive(pid)]
    assert leftovers == [], f"processes left behind: {leftovers}"
    assert not (var_dir / "stack.json").exists()

    # Started the way `cmd &` starts it, Ctrl-C (SIGINT) still stops it.
    again = start_stack(var_dir, as_background_job=True)
    try:
        state = wait_for_state(var_dir, again)
        found = subprocess.run(
            [
                sys.executable,
                "-c",
                "import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    c = await asyncpg.connect(sys.argv[1])\n"
                "    print(await c.fetchval('SELECT v FROM public.survives'))\n"
                "    await c.close()\n"
                "asyncio.run(main())",
                state["urls"]["DATABASE_URL"],
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert found == "still here"
        assert (var_dir / "dev-secrets.json").exists()
    finally:
        output = stop_stack(again)
    assert again.returncode == 0, output
    assert [pid for pid in all_pids(state) if alive(pid)] == []


def test_killed_runner_leaves_no_orphans(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    process = start_stack(var_dir)
    state = wait_for_state(var_dir, process)
    process.kill()  # no chance to clean up: the children must go with it
    process.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(p) for p in all_pids(state)):
        time.sleep(0.2)
    assert [pid for pid in all_pids(state) if alive(pid)] == []


def test_free_ports_are_never_handed_out_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ports are picked before their processes bind them, so the OS may offer one again."""
    from agentbus_shared import devstack

    offered = iter([41001, 41002, 41001, 41002, 41003])
    monkeypatch.setattr(devstack, "free_port", lambda: next(offered))
    stack = devstack.DevStack(tmp_path, free_ports=True, progress=lambda _: None)

    assert [stack._free_port() for _ in range(3)] == [41001, 41002, 41003]
