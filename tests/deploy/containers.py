"""The images, built and run with podman on this machine: a Debian base made locally, every
target of the Dockerfile and the engine stand-ins, each tagged by a hash of its inputs.

No image registry is reachable here, so the base is Debian bookworm made with ``mmdebstrap`` and
``podman import``; the Dockerfile then gets it, Debian's python3.11, and uv and Node from their PyPI
wheels as build arguments (deploy/README.md). A tag is the hash of what went into the image (Dockerfile,
the files ``.dockerignore`` lets in, the build arguments), so an unchanged tree builds nothing.
Every podman call reads ``containers.conf`` written here: the runc runtime and ulimits the
sandbox allows (podman's default RLIMIT_NPROC is refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from . import derive
from .dockerfile import build_context

STATE = derive.ROOT / "var" / "containers"
REPORT = STATE / "images.json"
DOCKERFILE = derive.ROOT / "Dockerfile"
STANDINS = Path(__file__).parent / "standins"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PREFIX = "localhost/agentbus"
"""Image names are ``<PREFIX>-<target>:<tag>``, as compose names them (AGENTBUS_IMAGE_PREFIX)."""
TARGETS = (*derive.service_names(), "ops")
ENGINES = ("nats", "postgres", "redis")
USER_ID = 10001

BASE_SUITE = "bookworm"
BASE_PACKAGES = ("python3.11", "python3-minimal", "ca-certificates")
SYSTEM_PYTHON = "/usr/bin/python3.11"
CONTAINERS_CONF = """\
# Written by tests/deploy/containers.py for every podman call of the tests.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""
BUILD_TIMEOUT = 900
SUPERSEDED_AFTER = "1h"
"""Builds older than this of other trees (and their stages' untagged images) are removed."""


@dataclass(frozen=True)
class Image:
    """A built image: its name, how long building it took (0 when it was there), its size."""

    name: str
    seconds: float
    size: int

    @property
    def tag(self) -> str:
        return self.name.rsplit(":", 1)[1]


@dataclass(frozen=True)
class Images:
    """Every image the container tests use."""

    base: Image
    engines: dict[str, Image]
    targets: dict[str, Image]

    @property
    def version(self) -> str:
        """The tag every Agentbus image shares (compose's AGENTBUS_VERSION)."""
        return self.targets[TARGETS[0]].tag

    def all(self) -> list[Image]:
        return [self.base, *self.engines.values(), *self.targets.values()]

    def report(self) -> str:
        lines = [
            f"{image.name:<58} {image.size / 1e6:7.0f} MB  "
            + (f"built in {image.seconds:5.1f} s" if image.seconds else "cached")
            for image in self.all()
        ]
        return "\n".join(lines)


# ------------------------------------------------------------------ podman
def podman_env() -> dict[str, str]:
    """This process's environment with the tests' containers.conf (runc, allowed ulimits)."""
    STATE.mkdir(parents=True, exist_ok=True)
    conf = STATE / "containers.conf"
    if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def run(
    command: list[str],
    *,
    timeout: float = 120,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``command`` with the podman environment (and ``env``); its output. Fails when it does."""
    result = subprocess.run(
        command,
        env={**podman_env(), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(command[:6])} … failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def podman(*args: str, timeout: float = 120) -> str:
    assert shutil.which("podman"), (
        "podman is needed to build and run the images: `task pytest` installs it with "
        "scripts/ensure-podman.sh (as root), or install podman, runc, mmdebstrap and uidmap"
    )
    return run(["podman", *args], timeout=timeout)


def exists(name: str) -> bool:
    found = subprocess.run(
        ["podman", "image", "exists", name], env=podman_env(), check=False, timeout=60
    )
    return found.returncode == 0


def size_of(name: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", name).strip())


# ------------------------------------------------------------------ tags
def digest(parts: Iterable[str | bytes]) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hashed.update(len(data).to_bytes(8, "big") + data)
    return hashed.hexdigest()[:16]


def context_digest(root: Path, files: Iterable[Path], args: Mapping[str, str]) -> str:
    """The hash of a build's inputs: its files (path and content) and build arguments."""
    parts: list[str | bytes] = []
    for relative in files:
        parts += [relative.as_posix(), (root / relative).read_bytes()]
    parts += [f"{key}={value}" for key, value in sorted(args.items())]
    return digest(parts)


# ------------------------------------------------------------------ building
def base_image() -> Image:
    """Debian bookworm with python3.11, made by mmdebstrap and imported; tagged by its recipe."""
    name = f"{PREFIX}-base:{BASE_SUITE}-{digest([BASE_SUITE, *BASE_PACKAGES])}"
    if exists(name):
        return Image(name, 0, size_of(name))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=STATE) as scratch:
        tarball = Path(scratch) / "base.tar"
        run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                BASE_SUITE,
                str(tarball),
            ],
            timeout=BUILD_TIMEOUT,
        )
        podman("import", str(tarball), name, timeout=BUILD_TIMEOUT)
    return Image(name, time.monotonic() - started, size_of(name))


@dataclass(frozen=True)
class Build:
    """One ``podman build --target``, named by the hash of its inputs."""

    dockerfile: Path
    target: str
    name: str
    args: Mapping[str, str]

    def run(self) -> Image:
        """Build unless the image is there. The CA bundle is mounted for downloads behind this
        machine's TLS-intercepting proxy (given to uv and urllib, never copied into a layer)."""
        if exists(self.name):
            return Image(self.name, 0, size_of(self.name))
        started = time.monotonic()
        arguments = {**self.args, "SSL_CERT_FILE": str(CA_BUNDLE)}
        run(
            [
                "podman",
                "build",
                f"--target={self.target}",
                f"--tag={self.name}",
                f"--file={self.dockerfile}",
                f"--volume={CA_BUNDLE}:{CA_BUNDLE}:ro",
                *[f"--build-arg={key}={value}" for key, value in sorted(arguments.items())],
                str(self.dockerfile.parent),
            ],
            timeout=BUILD_TIMEOUT,
        )
        return Image(self.name, time.monotonic() - started, size_of(self.name))


def engine_builds(base: Image) -> list[Build]:
    """The NATS, PostgreSQL and Redis stand-ins (tests/deploy/standins) on the Debian base."""
    args = {"BASE_IMAGE": base.name}
    files = sorted(p.relative_to(STANDINS) for p in STANDINS.rglob("*") if p.is_file())
    tag = context_digest(STANDINS, files, args)
    dockerfile = STANDINS / "Dockerfile"
    return [Build(dockerfile, e, f"{PREFIX}-standin-{e}:{tag}", args) for e in ENGINES]


def target_builds(base: Image, postgres: str) -> list[Build]:
    """Every service image and ops from the one Dockerfile, for the Debian base's python3.11,
    uv and Node (the gateway's web app build) from their wheels, and ops on the PostgreSQL
    stand-in (the server version the tests run)."""
    args = {
        "BASE_IMAGE": base.name,
        "NODE_IMAGE": "node-wheel",
        "POSTGRES_IMAGE": postgres,
        "PYTHON": SYSTEM_PYTHON,
        "UV_IMAGE": "uv-wheel",
    }
    inputs = [DOCKERFILE.relative_to(derive.ROOT), *build_context(derive.ROOT)]
    tag = context_digest(derive.ROOT, inputs, args)
    return [Build(DOCKERFILE, t, f"{PREFIX}-{t}:{tag}", args) for t in TARGETS]


def build_images() -> Images:
    """Every image, built once per change of its inputs; the sizes and times go to REPORT.
    The stand-ins (mostly apt downloads) build beside the services (mostly uv and bytecode);
    ops, on the PostgreSQL stand-in, after both."""
    base = base_image()
    engines = engine_builds(base)
    *services, ops = target_builds(base, engines[ENGINES.index("postgres")].name)
    with ThreadPoolExecutor(max_workers=1) as beside:
        stand_ins = beside.submit(lambda: {b.target: b.run() for b in engines})
        targets = {b.target: b.run() for b in services}
        images = Images(base, stand_ins.result(), {**targets, ops.target: ops.run()})
    remove_superseded(images)
    REPORT.write_text(
        json.dumps(
            {"written": time.time(), "report": images.report(), "images": asdict(images)},
            indent=2,
        )
    )
    return images


def remove_superseded(images: Images) -> None:
    """Drop earlier builds of the same images (other trees' tags), so disk use stays bounded; an
    image a container still uses is kept (``podman rmi`` refuses it)."""
    for image in images.all():
        repository = image.name.rsplit(":", 1)[0]
        listed = podman(
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            f"--filter=reference={repository}",
            # not the builds of a test run of another tree going on beside this one
            f"--filter=until={SUPERSEDED_AFTER}",
        )
        for earlier in set(listed.split()) - {image.name}:
            subprocess.run(
                ["podman", "rmi", earlier],
                env=podman_env(),
                capture_output=True,
                check=False,
                timeout=120,
            )
    # The untagged images of earlier builds' stages (the build cache of trees long gone).
    podman("image", "prune", "--force", f"--filter=until={SUPERSEDED_AFTER}")


# ------------------------------------------------------------------ running
def run_image(image: Image, *command: str, entrypoint: str | None = None) -> str:
    """Run ``command`` in ``image`` as deployed: read-only root, a tmpfs /tmp, no capabilities."""
    return podman(
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--network",
        "none",
        *(["--entrypoint", entrypoint] if entrypoint else []),
        image.name,
        *command,
    )


if __name__ == "__main__":
    # `task pytest` builds the images before the tests start (python -m tests.deploy.containers):
    # minutes of CPU that would otherwise slow the tests running beside the container tests.
    print(build_images().report(), flush=True)
