"""Just enough of the Dockerfile and .dockerignore formats to check them without a Docker engine."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    flags: tuple[str, ...] = ()


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for item in shlex.split(instruction.arguments):
                key, _, value = item.partition("=")
                found[key] = value
        return found


def parse(path: Path) -> dict[str, Stage]:
    """Stages by name (``AS`` name, or their index), in order, with their instructions."""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        # Instruction flags (--from, --mount, …) come before the arguments.
        leading = re.match(r"((?:--\S+\s+)*)(.*)", rest)
        assert leading is not None
        flags = tuple(leading.group(1).split())
        arguments = leading.group(2).strip()
        if keyword == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            current = stages[name] = Stage(name, parts[0])
        elif current is not None:
            current.instructions.append(Instruction(keyword, arguments, flags))
    return stages


def global_args(path: Path) -> dict[str, str]:
    """The build arguments declared before the first stage, with their defaults."""
    found: dict[str, str] = {}
    for line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            break
        if keyword.upper() == "ARG":
            name, _, default = rest.partition("=")
            found[name] = default
    return found


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        lines.append(re.sub(r"\s+", " ", buffer + stripped))
        buffer = ""
    return lines


def ancestry(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    chain = []
    stage: Stage | None = stages[name]
    while stage is not None:
        chain.append(stage)
        stage = stages.get(stage.base)
    return chain


# ------------------------------------------------------------------ .dockerignore
def _pattern(pattern: str) -> re.Pattern[str]:
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.compile(regex + "$")


def build_context(root: Path) -> list[Path]:
    """The files ``docker build`` sends, following ``.dockerignore`` (last matching rule wins)."""
    rules: list[tuple[bool, str, re.Pattern[str]]] = []
    for raw in (root / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            text = line.lstrip("!").strip("/")
            rules.append((line.startswith("!"), text, _pattern(text)))

    def excluded(relative: str) -> bool:
        parents = [relative.rsplit("/", n)[0] for n in range(relative.count("/"), 0, -1)]
        result = False
        for negate, _, rule in rules:
            if any(rule.match(candidate) for candidate in [*parents, relative]):
                result = not negate
        return result

    def may_reinclude_below(directory: str) -> bool:
        depth = directory.count("/") + 1
        for negate, text, _ in rules:
            if not negate:
                continue
            segments = text.split("/")
            if "**" in text or len(segments) <= depth:
                if "**" in text:
                    return True
                continue
            if _pattern("/".join(segments[:depth])).match(directory):
                return True
        return False

    sent = []
    for current, directories, files in os.walk(root):
        base = Path(current).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        directories[:] = [
            d for d in directories if not excluded(prefix + d) or may_reinclude_below(prefix + d)
        ]
        sent.extend(Path(prefix + f) for f in files if not excluded(prefix + f))
    return sorted(sent)
