"""`agentbus dev` as a user runs it: everything comes up, Ctrl-C leaves nothing, data survives,
and the terminal says where things are, then stays quiet."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking

pytestmark = pytest.mark.slow

IDLE_SECONDS = 12
"""Long enough for the periodic work (auth's key reload every 10 s, the outbox relay, the
consumers' pulls) to come by."""


def ignore_sigint() -> None:
    """As a shell starts a background job: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def terminal(var_dir: Path) -> Path:
    """What a person running the stack in ``var_dir`` sees in the terminal."""
    return var_dir.parent / "terminal.txt"


def start_stack(
    var_dir: Path, *, as_background_job: bool = False, log_files: bool = True
) -> subprocess.Popen[bytes]:
    agentbus = Path(sys.executable).parent / "agentbus"
    options = ["--log-files"] if log_files else []
    with terminal(var_dir).open("wb") as output:
        return subprocess.Popen(
            [str(agentbus), "dev", "--free-ports", "--var-dir", str(var_dir), *options],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={
                k: v
                for k, v in os.environ.items()
                if k not in {"NATS_URL", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT"}
            },
            preexec_fn=ignore_sigint if as_background_job else None,  # noqa: PLW1509
        )


def wait_for_state(var_dir: Path, process: subprocess.Popen[bytes], timeout: float = 120) -> dict:
    state_file = var_dir / "stack.json"

    def state() -> dict | None:
        if process.poll() is not None:
            raise AssertionError(f"dev stack exited: {terminal(var_dir).read_text()}")
        return json.loads(state_file.read_text()) if state_file.exists() else None

    return eventually_blocking(state, what="the dev stack up", timeout=timeout, interval=0.2)


def summary_block(var_dir: Path) -> dict[str, str]:
    """The labelled lines of the block that ends start-up, once it is printed."""

    def printed() -> str | None:
        shown = terminal(var_dir).read_text()
        return shown if "\n  Stop " in shown else None

    text = eventually_blocking(printed, what="the summary block", timeout=30)
    rows = text.split("\nAgentbus is running.\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return dict(re.split(r"\s{2,}", row.strip(), maxsplit=1) for row in rows)


def wait_for_new_server(var_dir: Path, name: str, old_pid: int, timeout: float = 60) -> dict:
    """The stack's state once ``name`` runs again under a new pid."""

    def restarted() -> dict | None:
        state = json.loads((var_dir / "stack.json").read_text())
        pid = state["servers"][name]["pid"]
        return state if pid != old_pid and alive(pid) else None

    return eventually_blocking(restarted, what=f"{name} restarted", timeout=timeout, interval=0.2)


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def stop_stack(process: subprocess.Popen[bytes], var_dir: Path) -> str:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    return terminal(var_dir).read_text()


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


@pytest.mark.timeout(240)  # two stack starts, two servers killed and restarted, a quiet spell
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
        output = stop_stack(process, var_dir)
    assert process.returncode == 0, output
    assert "postgres exited (-9); restarting" in output
    assert "nats exited (-9); restarting" in output
    leftovers = [pid for pid in all_pids(state) if alive(pid)]
    assert leftovers == [], f"processes left behind: {leftovers}"
    assert not (var_dir / "stack.json").exists()

    # Started the way `cmd &` starts it, Ctrl-C (SIGINT) still stops it. Without --log-files the
    # terminal ends start-up with one block saying where everything is, then stays quiet.
    again = start_stack(var_dir, as_background_job=True, log_files=False)
    try:
        state = wait_for_state(var_dir, again)
        (stand_in,) = state["companions"].values()
        assert summary_block(var_dir) == {
            "Web and API": state["gateway_url"],
            "API docs": f"{state['gateway_url']}/docs",
            "Mail": f"{var_dir.resolve() / 'mail'}/ (one .eml file per mail: codes, resets, invites)",
            "Stripe": f"stand-in at {stand_in['url']}",
            "Logs": "warnings and errors, here (--verbose for every line)",
            "Stop": "Ctrl-C",
        }
        started = terminal(var_dir).read_text()
        time.sleep(IDLE_SECONDS)
        assert terminal(var_dir).read_text() == started, "the idle stack printed something"
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
        output = stop_stack(again, var_dir)
    assert again.returncode == 0, output
    after_summary = output.split("\n  Stop ", 1)[1].splitlines()[1:]
    said = [
        line for line in after_summary if line and not line.startswith("agentbus dev: stopping ")
    ]
    assert said == [], output
    assert [pid for pid in all_pids(state) if alive(pid)] == []


def test_killed_runner_leaves_no_orphans(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    process = start_stack(var_dir)
    state = wait_for_state(var_dir, process)
    process.kill()  # no chance to clean up: the children must go with it
    process.wait(10)
    pids = all_pids(state)
    eventually_blocking(
        lambda: not any(alive(pid) for pid in pids),
        what=f"none of the stack's processes {pids} left",
        timeout=20,
        interval=0.2,
    )


def test_free_ports_are_never_handed_out_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ports are picked before their processes bind them, so the OS may offer one again."""
    from agentbus_shared import devstack

    offered = iter([41001, 41002, 41001, 41002, 41003])
    monkeypatch.setattr(devstack, "free_port", lambda: next(offered))
    stack = devstack.DevStack(tmp_path, free_ports=True, progress=lambda _: None)

    assert [stack._free_port() for _ in range(3)] == [41001, 41002, 41003]


@pytest.mark.parametrize("replicas", [1, 4])
def test_a_clustered_stack_runs_the_replicas_asked_for_spread_over_the_nodes(
    tmp_path: Path, replicas: int
) -> None:
    from agentbus_shared import devstack
    from agentbus_shared.servers import secured_nats_cluster

    stack = devstack.DevStack(
        tmp_path, free_ports=True, cluster=True, replicas=replicas, progress=lambda _: None
    )
    nodes = [(tmp_path / f"nats-{n}", None, None) for n in range(1, devstack.CLUSTER_NODES + 1)]
    stack.nats_nodes, stack.bus = secured_nats_cluster(nodes)
    stack._assign_ports()

    names = stack.replica_names("auth")
    assert names == ["auth", *(f"auth-{n}" for n in range(2, replicas + 1))]
    assert len({stack.ports[name] for name in names}) == replicas
    urls = [stack._node_env(replica)["NATS_URL"] for replica in range(replicas)]
    assert urls == [stack.nats_nodes[n % devstack.CLUSTER_NODES].url for n in range(replicas)]


def test_a_stack_needs_one_replica_of_each_service(tmp_path: Path) -> None:
    from agentbus_shared import devstack

    with pytest.raises(devstack.ServerError, match="at least one replica"):
        devstack.DevStack(tmp_path, cluster=True, replicas=0, progress=lambda _: None)
    assert devstack.DevStack(tmp_path, replicas=3, progress=lambda _: None).replicas == 1


def test_a_held_process_stays_down_until_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``var/held/<name>`` keeps the supervisor from restarting ``<name>``; removing it does."""
    from agentbus_shared import devstack
    from agentbus_shared.devsupervisor import Supervisor

    class Exited:
        """A service process that has exited, counting its restarts."""

        name = "chat-2"

        def __init__(self) -> None:
            self.process = subprocess.Popen([sys.executable, "-c", "pass"])
            self.process.wait()
            self.starts = 0

        def start(self) -> None:
            self.starts += 1

    exited = Exited()
    stack = devstack.DevStack(tmp_path, progress=lambda _: None)
    stack.services.append(exited)  # type: ignore[arg-type]
    monkeypatch.setattr(stack, "write_state", lambda: None)
    (tmp_path / "held").mkdir()
    (tmp_path / "held" / "chat-2").touch()

    supervisor = Supervisor(stack)
    supervisor.restart_exited_services()
    assert exited.starts == 0
    (tmp_path / "held" / "chat-2").unlink()
    supervisor.restart_exited_services()
    assert exited.starts == 1
